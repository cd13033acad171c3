"""Likeness on real photos (the paper's Table 4): photos + `Predictor` -> identity-judge metrics.

Every face of a photo that is at least `min_face` px wide is one person. For each person, each
domain adapter and each weighting of the ensemble's members (`VARIANTS`), the recipe predicted
from the face is rendered head-on (`render_recipe_face`, as `f2p render` draws it) and embedded
by every judge (`judges`: dlib's ResNet descriptor, FaceNet) from the render's own mesh
landmarks; the photo is embedded from its detected landmarks. `judges.likeness_metrics` then
gives, per judge: distance photo <-> own render, the share closer than the default head's render,
re-identification top-1 / top-5 and the mean rank percentile among the people.

The identity member reads dlib's descriptor, so the dlib judge is not independent of it: FaceNet
decides. The model outputs of a face are computed once per adapter; the variants only re-weight
them (`Predictor.combine`), which is what lets `choose_photo_shift` search weights cheaply.

People are keyed by file name, with `#k` for the k-th face (largest first) when a photo holds
several. A photo that cannot be read or holds no face of that size is skipped and listed.
With hand labels (`labels.read_face_labels`), every result also has the reconstructions' agreement
with them (`labels.attribute_agreement`: gender, age bracket, skin tone, eye colour, per group).
Photos have readings the CNN members lack: the macro member (`face.attributes`, read from the
aligned face before any adapter) and the colours measured in the photo (`face.colour`); the
variants marked so take Gender and Age from the first and skin and eye colour from the second, as
`f2p predict` does. `contact_sheet` puts
each photo's face beside the render of one variant, for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from f2p_engine.adapt import available_adapters, create_adapter, stylise
from f2p_engine.ensemble import AGGREGATE, IDENTITY, MEMBERS
from f2p_engine.errors import InputError
from f2p_engine.evaluate.judges import Judge, LikenessMetrics, create_judge, likeness_metrics
from f2p_engine.evaluate.labels import (
    AttributeAgreement,
    DetectedFace,
    FaceLabel,
    PredictedAttributes,
    attribute_agreement,
    eye_tone,
    hair_length,
    hair_tone,
    has_beard,
    match_labels,
    skin_tone,
)
from f2p_engine.face.aligned import align_face
from f2p_engine.face.detect import detect_faces
from f2p_engine.face.image import RGBImage, load_image
from f2p_engine.face.reading import PhotoReading, read_photo
from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.infer.batch import PHOTO_SUFFIXES, photos_in
from f2p_engine.infer.pipeline import Predictor
from f2p_engine.infer.refine import Refiner
from f2p_engine.recipe import Recipe
from f2p_engine.render.recipe_view import render_recipe_face
from f2p_engine.render.renderer import Renderer

#: Side of the head-on renders in pixels (the face spans ~115 px: ample for both judges' crops).
RENDER_SIZE = 256
#: Image file endings `photo_files` picks up (lower case).
JUDGES = ("dlib", "facenet")
GENDER = "macrodetails/Gender"
AGE = "macrodetails/Age"


def _only(member: str) -> Callable[[Predictor], np.ndarray]:
    def weights(predictor: Predictor) -> np.ndarray:
        chosen = np.zeros_like(predictor.fitted_weights)
        chosen[MEMBERS.index(member)] = 1.0
        return chosen
    return weights


def _without_identity(predictor: Predictor) -> np.ndarray:
    weights = predictor.fitted_weights.copy()
    weights[MEMBERS.index(IDENTITY)] = 0.0
    return weights  # `combine_members` renormalises what is left to sum to 1


@dataclass(frozen=True, slots=True)
class Variant:
    """A weighting of the members compared on photos: `weights` predictor -> (K, P); `readings`: Gender
    and Age from the macro member, skin and eye colour measured in the photo; `widened`: de-shrunk as
    photos are (`Predictor.spread`); `refine`: the face sliders then refined against the photo
    (`infer.refine`, seconds per face: not evaluated unless asked for)."""

    description: str
    weights: Callable[[Predictor], np.ndarray]
    readings: bool
    widened: bool = False
    refine: bool = False


VARIANTS: dict[str, Variant] = {
    "aggregate": Variant("aggregate CNN alone", _only(AGGREGATE), False),
    "cnn": Variant("CNN ensemble (aggregate + local, the paper's)", _without_identity, False),
    "identity": Variant("identity member alone", _only(IDENTITY), False),
    "fitted": Variant("all members, weights fitted on renders", lambda p: p.fitted_weights, False),
    "photo-cnn": Variant("all members, photo weights, Gender, Age, skin and eye colour from the CNN members",
                               lambda p: p.weights, False),
    "narrow": Variant("all members, photo weights, Gender and Age from the macro member, colours measured, "
                      "not de-shrunk", lambda p: p.weights, True),
    "shipped": Variant("all members, photo weights, Gender and Age from the macro member, colours measured, "
                       "de-shrunk (shipped)", lambda p: p.weights, True, True),
    "refined": Variant("shipped, then the face sliders refined by render-and-compare (predict --refine)",
                       lambda p: p.weights, True, True, refine=True),
}
#: The variants evaluated when none are named (refinement is opt-in: `--refine`).
DEFAULT_VARIANTS = tuple(name for name, variant in VARIANTS.items() if not variant.refine)
#: Side of each face in the contact sheet (pixels).
SHEET_FACE = 128


def photo_files(directory: str | os.PathLike[str], limit: int | None = None) -> list[Path]:
    """The image files directly in `directory` (by ending, any case), sorted by name; the first
    `limit` of them when given. InputError if `directory` is not a folder or holds none."""
    folder = Path(directory)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a directory")
    photos = photos_in(folder)
    if not photos:
        raise InputError(f"{folder}: no photos ({', '.join(PHOTO_SUFFIXES)})")
    return photos[:limit]


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoFace:
    """One person: a face of a photo, embedded by every judge, with the models' outputs per adapter.

    `where`: its place in the photo; `embeddings`: judge -> (d,) unit vector of the photo's face;
    `outputs`: adapter -> model name -> [continuous (1, P), *logits (1, K)] as `Predictor.run_all`
    returns them; `reading`: what the photo's pixels say (`face.reading`: the macro member's gender and
    age, the colours and the hair beside the face measured in the photo); `aligned`: the
    aligned face before any adapter ((S, S, 3) uint8 RGB) and `landmarks` its (68, 2) points (what
    refinement compares with); `thumbnail`: `aligned` shrunk to (SHEET_FACE, SHEET_FACE, 3).
    """

    key: str
    where: DetectedFace
    embeddings: dict[str, np.ndarray] = field(repr=False)
    outputs: dict[str, dict[str, list[np.ndarray]]] = field(repr=False)
    reading: PhotoReading
    aligned: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)
    thumbnail: np.ndarray = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """Photos left out: file -> reason for unreadable ones; files without a face of the size asked."""

    unreadable: dict[str, str]
    no_face: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class FaceLikeness:
    """One face's reconstruction: what it shows (`shows`: Gender, Age in MakeHuman units, skin and
    eye tone) and `distance`: judge -> cosine distance photo <-> render."""

    shows: PredictedAttributes
    distance: Mapping[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"gender": self.shows.gender, "age": self.shows.age, "skin": self.shows.skin, "eyes": self.shows.eyes,
                "hair": self.shows.hair, "beard": self.shows.beard, "hair_colour": self.shows.hair_colour,
                "distance": dict(self.distance)}


@dataclass(frozen=True, slots=True, kw_only=True)
class VariantLikeness:
    """One adapter and member weighting: judge -> `LikenessMetrics`, face key -> `FaceLikeness`, the
    agreement with the hand labels when they were given, and the head-on `renders` (face key ->
    (SHEET_FACE, SHEET_FACE, 3) uint8) for the contact sheet, not saved in metrics.json."""

    judges: Mapping[str, LikenessMetrics]
    per_face: Mapping[str, FaceLikeness]
    attributes: AttributeAgreement | None = None
    renders: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {judge: metrics.to_json() for judge, metrics in self.judges.items()}
        document["per_face"] = {key: face.to_json() for key, face in self.per_face.items()}
        if self.attributes is not None:
            document["attributes"] = self.attributes.to_json()
        return document


@dataclass(frozen=True, slots=True, kw_only=True)
class LikenessReport:
    """Likeness of every adapter x variant by every judge (see the module doc).

    `photos`: files given; `people`: faces used (at least `min_face` px wide); `render_size`: side
    of the renders; `variants`: name -> description; `skipped`: photos left out; `results`:
    adapter -> variant -> `VariantLikeness`; `faces`: the faces judged (not saved). `to_json` is the
    "likeness" part of metrics.json.
    """

    photos: int
    people: int
    min_face: float
    render_size: int
    judges: tuple[str, ...]
    variants: Mapping[str, str]
    skipped: Skipped
    results: Mapping[str, Mapping[str, VariantLikeness]]
    faces: tuple[PhotoFace, ...] = field(default=(), repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"photos": self.photos, "people": self.people, "min_face": self.min_face,
                "render_size": self.render_size, "judges": list(self.judges), "variants": dict(self.variants),
                "skipped": {"unreadable": dict(self.skipped.unreadable), "no_face": list(self.skipped.no_face)},
                "results": {a: {v: r.to_json() for v, r in variants.items()} for a, variants in self.results.items()}}


#: Discrete groups a reconstruction wears that are not the face: the default head it is compared with wears them too.
WORN = ("hair", "hair_colour", "eyebrows", "eyelashes", "beard")


class RenderEmbedder:
    """Recipe -> judge -> embedding of its head-on render (from the render's mesh landmarks)."""

    def __init__(self, judges: Mapping[str, Judge], size: int = RENDER_SIZE) -> None:
        self.judges = judges
        self.renderer = Renderer(size)
        self.head = HeadModel(vertex_ids=self.renderer.vertex_ids)
        self._defaults: dict[tuple[str, ...], dict[str, np.ndarray]] = {}

    def default_wearing(self, recipe: Recipe) -> dict[str, np.ndarray]:
        """judge -> embedding of the default head wearing `recipe`'s `WORN` choices (hair, brows, beard...):
        "closer than the default head" then credits the face, not the hair (cached per combination)."""
        worn = tuple(recipe.choice(group) for group in WORN)
        if worn not in self._defaults:
            default = Recipe(name="default head")
            for group, option in zip(WORN, worn, strict=True):
                default = default.with_choice(group, option)
            self._defaults[worn] = self(default)[0]
        return self._defaults[worn]

    def __call__(self, recipe: Recipe) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """(judge -> embedding, the render shrunk to SHEET_FACE pixels)."""
        pixels, landmarks = render_recipe_face(recipe, self.renderer, head=self.head)
        image = RGBImage(pixels=pixels, source=f"render of {recipe.name or 'a recipe'}")
        return {name: judge.embed(image, landmarks) for name, judge in self.judges.items()}, _thumbnail(pixels)


def _thumbnail(pixels: np.ndarray) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(pixels).resize((SHEET_FACE, SHEET_FACE), Image.Resampling.LANCZOS))


def collect_faces(predictor: Predictor, photos: Sequence[str | os.PathLike[str]], adapters: Sequence[str],
                  judges: Mapping[str, Judge], *, min_face: float = 0.0,
                  progress: Callable[[int], None] | None = None) -> tuple[list[PhotoFace], Skipped]:
    """Detect, embed and run the models on every face at least `min_face` px wide (box width).

    `progress(1)` after each photo. InputError if two photos share a file name.
    """
    paths = [Path(p) for p in photos]
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise InputError(f"photos must have distinct file names: {sorted({n for n in names if names.count(n) > 1})}")
    instances = {name: create_adapter(name) for name in adapters}
    faces, unreadable, no_face = [], {}, []
    for path in paths:
        try:
            image = load_image(path)
        except InputError as exc:
            unreadable[path.name] = str(exc)
        else:
            found = [d for d in detect_faces(image) if d.box[2] - d.box[0] >= min_face]
            if not found:
                no_face.append(path.name)
            for k, detection in enumerate(found):
                aligned = align_face(image, detection, faces_found=len(found))
                outputs = {}
                for name, adapter in instances.items():
                    adapted = stylise(aligned, adapter)
                    outputs[name] = predictor.run_all(adapted.image[None], adapted.landmarks[None])
                key = path.name if len(found) == 1 else f"{path.name}#{k}"
                x0, y0, x1, y1 = detection.box[:4]
                where = DetectedFace(key=key, file=path.name, centre=((x0 + x1) / 2, (y0 + y1) / 2), width=x1 - x0)
                faces.append(PhotoFace(key=key, where=where, embeddings={j: judge.embed(image, detection.landmarks)
                                                   for j, judge in judges.items()}, outputs=outputs,
                                       reading=read_photo(image, aligned.image, aligned.landmarks, detection),
                                       aligned=aligned.image, landmarks=aligned.landmarks,
                                       thumbnail=_thumbnail(aligned.image)))
        if progress:
            progress(1)
    return faces, Skipped(unreadable=unreadable, no_face=no_face)


def reconstruct(predictor: Predictor, face: PhotoFace, adapter: str, weights: np.ndarray, readings: bool,
                widened: bool = False) -> Recipe:
    """The recipe of `face` predicted with `adapter`'s outputs and the members combined by `weights`
    (K, P); with `readings`, Gender and Age from the macro member, colours and hair measured, as `f2p predict`;
    `widened`: de-shrunk as photos are."""
    continuous, probabilities, confidence = predictor.combine(face.outputs[adapter], weights, widened=widened)
    prediction = predictor.prediction(continuous[0], {g: p[0] for g, p in probabilities.items()},
                                      {r: float(c[0]) for r, c in confidence.items()}, base=Recipe(name=face.key),
                                      reading=face.reading if readings else None)
    return prediction.recipe


def shows(recipe: Recipe) -> PredictedAttributes:
    """What a reconstruction shows, in the hand labels' terms."""
    return PredictedAttributes(gender=recipe.value(GENDER), age=recipe.value(AGE),
                               skin=skin_tone(recipe.choice("skin")), eyes=eye_tone(recipe.choice("eye_colour")),
                               hair=hair_length(recipe.choice("hair")), beard=has_beard(recipe.choice("beard")),
                               hair_colour=hair_tone(recipe.choice("hair_colour")))


def judge_reconstructions(predictor: Predictor, faces: Sequence[PhotoFace], adapter: str, weights: np.ndarray,
                          embed: RenderEmbedder, *, judges: Sequence[str] | None = None, readings: bool,
                          widened: bool = False, refiner: Refiner | None = None) -> VariantLikeness:
    """Likeness of one adapter and weighting (K, P) by each of `judges` (default: all of `embed`'s), each
    render against the default head wearing the same hair (`RenderEmbedder.default_wearing`); `readings`
    and `widened` as in `reconstruct`; with `refiner`, each recipe refined against its photo's aligned face."""
    recipes = [reconstruct(predictor, face, adapter, weights, readings, widened) for face in faces]
    if refiner is not None:
        recipes = [refiner.refine(recipe, face.aligned, face.landmarks).recipe
                   for recipe, face in zip(recipes, faces, strict=True)]
    embedded = [embed(recipe) for recipe in recipes]
    renders = [embeddings for embeddings, _ in embedded]
    judged: dict[str, LikenessMetrics] = {}
    distances: dict[str, dict[str, float]] = {face.key: {} for face in faces}
    defaults = [embed.default_wearing(recipe) for recipe in recipes]
    for judge in judges if judges is not None else embed.judges:
        photos = np.stack([face.embeddings[judge] for face in faces])
        rendered = np.stack([render[judge] for render in renders])
        judged[judge] = likeness_metrics(photos, rendered, np.stack([d[judge] for d in defaults]))
        for face, photo, render in zip(faces, photos, rendered, strict=True):
            distances[face.key][judge] = float(1.0 - photo @ render)
    per_face = {face.key: FaceLikeness(shows=shows(recipe), distance=distances[face.key])
                for face, recipe in zip(faces, recipes, strict=True)}
    return VariantLikeness(judges=judged, per_face=per_face,
                           renders={face.key: thumb for face, (_, thumb) in zip(faces, embedded, strict=True)})


def evaluate_likeness(predictor: Predictor, photos: Sequence[str | os.PathLike[str]],
                      adapters: Sequence[str] | None = None, *, variants: Sequence[str] | None = None,
                      judges: Sequence[str] = JUDGES, min_face: float = 0.0, render_size: int = RENDER_SIZE,
                      labels: Sequence[FaceLabel] | None = None, progress: Callable[[int], None] | None = None
                      ) -> LikenessReport:
    """Likeness of every adapter x variant by every judge (see the module doc and `LikenessReport`).

    `labels`: hand labels (`read_face_labels`), matched to the faces found; with them, every result
    has its `attributes` agreement. `progress(1)` after each photo. AssetError when a judge's model is not installed.
    """
    adapters = list(adapters if adapters is not None else available_adapters())
    variants = list(variants if variants is not None else DEFAULT_VARIANTS)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise InputError(f"unknown variants {unknown} (known: {', '.join(VARIANTS)})")
    instances = {name: create_judge(name) for name in judges}
    faces, skipped = collect_faces(predictor, photos, adapters, instances, min_face=min_face, progress=progress)
    matched = match_labels([face.where for face in faces], labels) if labels is not None else None
    embed = RenderEmbedder(instances, render_size)
    refiner = Refiner(embed.renderer, embed.head) if any(VARIANTS[v].refine for v in variants) else None
    results: dict[str, dict[str, VariantLikeness]] = {adapter: {} for adapter in adapters}
    for adapter in adapters:
        for variant in variants if faces else ():
            chosen = VARIANTS[variant]
            result = judge_reconstructions(predictor, faces, adapter, chosen.weights(predictor), embed,
                                           readings=chosen.readings, widened=chosen.widened,
                                           refiner=refiner if chosen.refine else None)
            if matched is not None:
                result = replace(result, attributes=attribute_agreement(
                    {key: face.shows for key, face in result.per_face.items()}, matched))
            results[adapter][variant] = result
    return LikenessReport(photos=len(photos), people=len(faces), min_face=min_face, render_size=render_size,
                          judges=tuple(judges), variants={v: VARIANTS[v].description for v in variants},
                          skipped=skipped, results=results, faces=tuple(faces))


def contact_sheet(report: LikenessReport, adapter: str, variant: str, columns: int = 4) -> np.ndarray:
    """(H, W, 3) uint8 RGB: every face's aligned photo beside the head-on render of `adapter` and
    `variant`, `columns` pairs a row, each captioned with its key and the Gender and Age it got.
    InputError when the report has no such result."""
    from PIL import Image, ImageDraw

    try:
        result = report.results[adapter][variant]
    except KeyError:
        raise InputError(f"no likeness result for adapter {adapter!r} and variant {variant!r}") from None
    caption = 14
    rows = max(1, -(-len(report.faces) // columns))
    sheet = Image.new("RGB", (columns * 2 * SHEET_FACE, rows * (SHEET_FACE + caption)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, face in enumerate(report.faces):
        x, y = (k % columns) * 2 * SHEET_FACE, (k // columns) * (SHEET_FACE + caption)
        sheet.paste(Image.fromarray(face.thumbnail), (x, y + caption))
        sheet.paste(Image.fromarray(result.renders[face.key]), (x + SHEET_FACE, y + caption))
        shown = result.per_face[face.key].shows
        draw.text((x + 2, y + 1), f"{face.key[:22]}  G {shown.gender:.2f} A {shown.age:.2f}", fill="black")
    return np.asarray(sheet)

