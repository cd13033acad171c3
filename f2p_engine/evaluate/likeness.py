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
`gender_agreement` checks predicted Gender against labels of the faces whose gender is obvious.
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
from f2p_engine.evaluate.labels import DetectedFace, FaceLabel, match_labels
from f2p_engine.face.aligned import align_face
from f2p_engine.face.detect import detect_faces
from f2p_engine.face.image import RGBImage, load_image
from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.infer.batch import PHOTO_SUFFIXES, photos_in
from f2p_engine.infer.pipeline import Predictor
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


#: Weightings of the members compared on photos: name -> (description, predictor -> (K, P) weights).
VARIANTS: dict[str, tuple[str, Callable[[Predictor], np.ndarray]]] = {
    "aggregate": ("aggregate CNN alone", _only(AGGREGATE)),
    "cnn": ("CNN ensemble (aggregate + local, the paper's)", _without_identity),
    "identity": ("identity member alone", _only(IDENTITY)),
    "fitted": ("all members, weights fitted on renders", lambda p: p.fitted_weights),
    "shipped": ("all members, photo weights (shipped)", lambda p: p.weights),
}


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

    `embeddings`: judge -> (d,) unit vector of the photo's face; `outputs`: adapter -> model name ->
    [continuous (1, P), *logits (1, K)] as `Predictor.run_all` returns them.
    """

    key: str
    where: DetectedFace
    embeddings: dict[str, np.ndarray] = field(repr=False)
    outputs: dict[str, dict[str, list[np.ndarray]]] = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """Photos left out: file -> reason for unreadable ones; files without a face of the size asked."""

    unreadable: dict[str, str]
    no_face: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class FaceLikeness:
    """One face's reconstruction: predicted `gender` and `age` (MakeHuman units) and `distance`:
    judge -> cosine distance photo <-> render."""

    gender: float
    age: float
    distance: Mapping[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"gender": self.gender, "age": self.age, "distance": dict(self.distance)}


@dataclass(frozen=True, slots=True, kw_only=True)
class GenderAgreement:
    """Labelled faces judged, the share whose predicted Gender is on the labelled side of 0.5 (None
    without any), and the keys of the faces that flipped."""

    labelled: int
    right_side: float | None
    flipped: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"labelled": self.labelled, "right_side": self.right_side, "flipped": list(self.flipped)}


@dataclass(frozen=True, slots=True, kw_only=True)
class VariantLikeness:
    """One adapter and member weighting: judge -> `LikenessMetrics`, face key -> `FaceLikeness`, and
    the gender agreement when labels were given."""

    judges: Mapping[str, LikenessMetrics]
    per_face: Mapping[str, FaceLikeness]
    gender: GenderAgreement | None = None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {judge: metrics.to_json() for judge, metrics in self.judges.items()}
        document["per_face"] = {key: face.to_json() for key, face in self.per_face.items()}
        if self.gender is not None:
            document["gender"] = self.gender.to_json()
        return document


@dataclass(frozen=True, slots=True, kw_only=True)
class LikenessReport:
    """Likeness of every adapter x variant by every judge (see the module doc).

    `photos`: files given; `people`: faces used (at least `min_face` px wide); `render_size`: side
    of the renders; `variants`: name -> description; `skipped`: photos left out; `results`:
    adapter -> variant -> `VariantLikeness`. `to_json` is the "likeness" part of metrics.json.
    """

    photos: int
    people: int
    min_face: float
    render_size: int
    judges: tuple[str, ...]
    variants: Mapping[str, str]
    skipped: Skipped
    results: Mapping[str, Mapping[str, VariantLikeness]]

    def to_json(self) -> dict[str, Any]:
        return {"photos": self.photos, "people": self.people, "min_face": self.min_face,
                "render_size": self.render_size, "judges": list(self.judges), "variants": dict(self.variants),
                "skipped": {"unreadable": dict(self.skipped.unreadable), "no_face": list(self.skipped.no_face)},
                "results": {a: {v: r.to_json() for v, r in variants.items()} for a, variants in self.results.items()}}


class RenderEmbedder:
    """Recipe -> judge -> embedding of its head-on render (from the render's mesh landmarks)."""

    def __init__(self, judges: Mapping[str, Judge], size: int = RENDER_SIZE) -> None:
        self.judges = judges
        self.renderer = Renderer(size)
        self.head = HeadModel(vertex_ids=self.renderer.vertex_ids)

    def __call__(self, recipe: Recipe) -> dict[str, np.ndarray]:
        pixels, landmarks = render_recipe_face(recipe, self.renderer, head=self.head)
        image = RGBImage(pixels=pixels, source=f"render of {recipe.name or 'a recipe'}")
        return {name: judge.embed(image, landmarks) for name, judge in self.judges.items()}


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
                                                   for j, judge in judges.items()}, outputs=outputs))
        if progress:
            progress(1)
    return faces, Skipped(unreadable=unreadable, no_face=no_face)


def reconstruct(predictor: Predictor, face: PhotoFace, adapter: str, weights: np.ndarray) -> Recipe:
    """The recipe of `face` predicted with `adapter`'s outputs and the members combined by `weights` (K, P)."""
    continuous, probabilities, confidence = predictor.combine(face.outputs[adapter], weights)
    return predictor.prediction(continuous[0], {g: p[0] for g, p in probabilities.items()},
                                {r: float(c[0]) for r, c in confidence.items()}, base=Recipe(name=face.key)).recipe


def judge_reconstructions(predictor: Predictor, faces: Sequence[PhotoFace], adapter: str, weights: np.ndarray,
                          embed: RenderEmbedder, default: Mapping[str, np.ndarray]) -> VariantLikeness:
    """Likeness of one adapter and weighting by every judge in `default` (judge -> default head's embedding)."""
    recipes = [reconstruct(predictor, face, adapter, weights) for face in faces]
    renders = [embed(recipe) for recipe in recipes]
    judged: dict[str, LikenessMetrics] = {}
    distances: dict[str, dict[str, float]] = {face.key: {} for face in faces}
    for judge in default:
        photos = np.stack([face.embeddings[judge] for face in faces])
        rendered = np.stack([render[judge] for render in renders])
        judged[judge] = likeness_metrics(photos, rendered, default[judge])
        for face, photo, render in zip(faces, photos, rendered, strict=True):
            distances[face.key][judge] = float(1.0 - photo @ render)
    per_face = {face.key: FaceLikeness(gender=recipe.value(GENDER), age=recipe.value(AGE), distance=distances[face.key])
                for face, recipe in zip(faces, recipes, strict=True)}
    return VariantLikeness(judges=judged, per_face=per_face)


def evaluate_likeness(predictor: Predictor, photos: Sequence[str | os.PathLike[str]],
                      adapters: Sequence[str] | None = None, *, variants: Sequence[str] | None = None,
                      judges: Sequence[str] = JUDGES, min_face: float = 0.0, render_size: int = RENDER_SIZE,
                      labels: Sequence[FaceLabel] | None = None, progress: Callable[[int], None] | None = None
                      ) -> LikenessReport:
    """Likeness of every adapter x variant by every judge (see the module doc and `LikenessReport`).

    `labels`: hand labels (`read_face_labels`), matched to the faces found; with them, every result
    has its `gender` agreement. `progress(1)` after each photo. AssetError when a judge's model is not installed.
    """
    adapters = list(adapters if adapters is not None else available_adapters())
    variants = list(variants if variants is not None else VARIANTS)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise InputError(f"unknown variants {unknown} (known: {', '.join(VARIANTS)})")
    instances = {name: create_judge(name) for name in judges}
    faces, skipped = collect_faces(predictor, photos, adapters, instances, min_face=min_face, progress=progress)
    matched = match_labels([face.where for face in faces], labels) if labels is not None else None
    embed = RenderEmbedder(instances, render_size)
    default = embed(Recipe(name="default head"))
    results: dict[str, dict[str, VariantLikeness]] = {adapter: {} for adapter in adapters}
    for adapter in adapters:
        for variant in variants if faces else ():
            result = judge_reconstructions(predictor, faces, adapter, VARIANTS[variant][1](predictor), embed, default)
            if matched is not None:
                result = replace(result, gender=gender_agreement(result.per_face, matched))
            results[adapter][variant] = result
    return LikenessReport(photos=len(photos), people=len(faces), min_face=min_face, render_size=render_size,
                          judges=tuple(judges), variants={v: VARIANTS[v][0] for v in variants}, skipped=skipped,
                          results=results)


def gender_agreement(per_face: Mapping[str, FaceLikeness], labels: Mapping[str, FaceLabel]) -> GenderAgreement:
    """Share of faces with a gender label whose predicted Gender is on the labelled side of 0.5
    (female < 0.5 <= male), with the faces that flipped. `labels`: face key -> label (`match_labels`)."""
    judged = {key: face.gender for key, face in per_face.items()
              if key in labels and "gender" in labels[key].values}
    flipped = sorted(key for key, value in judged.items() if (value >= 0.5) != (labels[key].values["gender"] == "male"))
    share = 1.0 - len(flipped) / len(judged) if judged else None
    return GenderAgreement(labelled=len(judged), right_side=share, flipped=tuple(flipped))

