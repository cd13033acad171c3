"""Inference: photo -> align -> adapter -> crops + identity descriptor -> ONNX models -> ensemble -> `Prediction`.

Runs on onnxruntime and numpy only (never torch). `Predictor.predict_aligned` starts from an
aligned face (as the synthetic samples are); `predict_photo` runs the whole chain from a photo.
The image models read crops of the aligned face; the identity model reads the dlib descriptor of
the same aligned face (`face.identity.face_descriptor`, as the synthetic samples store it). The
members are combined with the manifest's weights moved toward the identity member by its
`photo_shift` (`ensemble.photo_weights`): the weights for photos.

Photos also have the macro member (`face.attributes`: networks trained on real faces): given its
reading of a face, Gender and Age come from it (`MACRO_MEMBER_PARAMS`) instead of the CNN members,
which read real faces' gender and age badly (labelled dev photos and CelebA crops: README).
Renders and the synthetic evaluation keep the CNN members (the macro member reads renders badly).

Confidence per region, in [0, 1]: the region's held-out skill s = 1 - ensemble L1 / b (b: the
mean-prediction baseline L1; s = 0 means no better than guessing the mean), times the agreement
on this face 1 - d / b, d the mean |member - ensemble| over the region's parameters and the
members that predict them (independent models that agree are more likely right). Agreement
alone is not enough: two models that both learned nothing agree on the mean.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.ensemble import (
    IDENTITY,
    MEMBERS,
    PhotoSpread,
    combine_members,
    member_predictions,
    photo_weights,
    softmax,
    stack_members,
    weight_matrix,
    widen,
)
from f2p_engine.errors import AssetError
from f2p_engine.face.attributes import FaceAttributes, load_attribute_models
from f2p_engine.face.identity import DESCRIPTOR_SIZE, face_descriptor, load_recogniser
from f2p_engine.face.reading import PhotoReading, resolved
from f2p_engine.face.sessions import onnx_session
from f2p_engine.headmodel import schema
from f2p_engine.infer.manifest import ModelEntry, ModelManifest, load_manifest
from f2p_engine.nets.spec import DESCRIPTOR_INPUT, IMAGE_INPUT, preprocess
from f2p_engine.recipe import Recipe, recipe_from_parameters

if TYPE_CHECKING:
    from f2p_engine.face.aligned import AlignedFace
    from f2p_engine.face.colour import ColourReading
    from f2p_engine.face.hair import HairReading
    from f2p_engine.face.image import RGBImage

#: Parameters the macro member's reading replaces on photos: where it measures better on the
#: labelled dev photos than the CNN ensemble (gender right side, age bracket).
MACRO_MEMBER_PARAMS = ("macrodetails/Gender", "macrodetails/Age")


@dataclass(frozen=True, slots=True, kw_only=True)
class Prediction:
    """The ensemble's answer for one face.

    `recipe`: the predicted character; `continuous`: (P,) float64 in [0, 1], schema order;
    `probabilities`: group -> (K,) float64 option probabilities; `confidence`: region -> [0, 1];
    `timings`: stage -> seconds; `attributes`: the macro member's reading (photos only), whose
    confidences go with the Gender and Age it gave; `colours`: skin tone and eye colour measured in
    the photo, when they were (`with_colours`); `hair`: the hair beside the face measured in the photo
    (`photo_looks`). `unfolded`: the sliders moved away from the
    ensemble's values (`continuous`) to remove a visible fold of the surface (`without_folds`), usually none.
    `sources`: group -> how its choice was made when not by the members' probabilities (`MEASURED`,
    `BY_GENDER`), so the studio can say so.
    """

    recipe: Recipe
    continuous: np.ndarray = field(repr=False)
    probabilities: dict[str, np.ndarray] = field(repr=False)
    confidence: dict[str, float]
    timings: dict[str, float]
    attributes: FaceAttributes | None = None
    colours: ColourReading | None = None
    hair: HairReading | None = None
    unfolded: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)


class Predictor:
    """ONNX sessions of a verified model set, ready to predict (load once, predict many)."""

    def __init__(self, manifest: ModelManifest, threads: int = 1) -> None:
        from f2p_engine.render.folds import warm_up

        # The fold check's GL context and head model (~0.4 s), built on its own thread from the start: the
        # models load and the first photo is aligned meanwhile.
        warm_up()
        self.manifest = manifest
        self.sessions = {}
        for entry in manifest.models:
            try:
                # `load_manifest` checked the file's sha256.
                self.sessions[entry.name] = onnx_session(manifest.path(entry), entry.sha256, threads)
            except Exception as exc:  # onnxruntime's errors share no base class but Exception
                raise AssetError(f"{manifest.path(entry)}: not a loadable ONNX model "
                                 f"({str(exc).splitlines()[0][:100]}); reinstall f2p or retrain") from None
            self._check_sizes(entry)
        names = [p.name for p in schema.CONTINUOUS]
        #: (K, P) weights fitted on held-out renders, and the ones applied to photos.
        self.fitted_weights = weight_matrix(manifest.continuous_weights, names)
        identity = [m for m in manifest.models if m.member == IDENTITY]
        if identity:
            load_recogniser()  # ~0.3 s: at load time, not on the first photo
        load_attribute_models()
        self.identity_params = np.isin(np.arange(len(names)), identity[0].layout.param_indices if identity else [])
        self.weights = photo_weights(self.fitted_weights, manifest.photo_shift, self.identity_params)
        #: How photos' predictions are de-shrunk (`ensemble.widen`; parameters without an entry stay as they are).
        rows = np.asarray([manifest.photo_spread.get(n, (0.0, 1.0, 0.0)) for n in names], dtype=np.float64)
        self.spread = PhotoSpread(centre=rows[:, 0], scale=rows[:, 1], target=rows[:, 2])

    def _check_sizes(self, entry: ModelEntry) -> None:
        """Run `entry`'s session once on zeros: its input must take the manifest's size and its
        outputs be one value per parameter and one logit per option (AssetError naming the file)."""
        if entry.preprocessing is None:
            feed = {DESCRIPTOR_INPUT: np.zeros((1, DESCRIPTOR_SIZE), np.float32)}
        else:
            feed = {IMAGE_INPUT: np.zeros((1, 3, entry.preprocessing.height, entry.preprocessing.width), np.float32)}
        wanted = [(1, len(entry.layout.params)), *((1, k) for _, k in entry.layout.groups)]
        try:
            shapes = [tuple(np.shape(o)) for o in self.sessions[entry.name].run(None, feed)]
        except Exception as exc:  # onnxruntime's errors share no base class but Exception
            shapes = [f"refused its input: {str(exc).splitlines()[0][:100]}"]
        if shapes != wanted:
            raise AssetError(f"{self.manifest.path(entry)}: outputs {shapes} do not match the manifest's "
                             f"model {entry.name!r} ({wanted}); reinstall f2p or retrain")

    @classmethod
    def load(cls, directory: str | os.PathLike[str] | None = None, threads: int = 1) -> Predictor:
        """Verify (sha256) and load the models in `directory` (default: the shipped ones)."""
        return cls(load_manifest(directory), threads)

    def run_model(self, entry: ModelEntry, images: np.ndarray, landmarks: np.ndarray,
                  descriptors: np.ndarray | None = None) -> list[np.ndarray]:
        """Outputs of one model for aligned images (N, S, S, 3) uint8 and landmarks (N, 68, 2):
        [continuous (N, P), *logits (N, K)]. The identity model reads `descriptors` (N, 128), computed
        from the images when not given."""
        if entry.preprocessing is None:
            if descriptors is None:
                descriptors = np.stack([face_descriptor(i, lm) for i, lm in zip(images, landmarks, strict=True)])
            return self.sessions[entry.name].run(None, {DESCRIPTOR_INPUT: np.asarray(descriptors, np.float32)})
        batch = np.stack([preprocess(i, lm, entry.preprocessing) for i, lm in zip(images, landmarks, strict=True)])
        return self.sessions[entry.name].run(None, {IMAGE_INPUT: batch})

    def run_all(self, images: np.ndarray, landmarks: np.ndarray, descriptors: np.ndarray | None = None
                ) -> dict[str, list[np.ndarray]]:
        """Every model's outputs, by model name (see `run_model`)."""
        return {m.name: self.run_model(m, images, landmarks, descriptors) for m in self.manifest.models}

    def predict_aligned(self, image: np.ndarray, landmarks: np.ndarray, base: Recipe | None = None, *,
                        reading: PhotoReading | Future[PhotoReading] | None = None) -> Prediction:
        """Predict from one aligned face: (S, S, 3) uint8 RGB and its (68, 2) aligned-pixel landmarks.
        A photo's `reading` (`face.reading`) sets Gender, Age, colours and hair (see `prediction`); a
        future of it (`read_photo_soon`) is awaited only after the members ran."""
        began = time.perf_counter()
        # The identity member's dlib descriptor is timed apart: it is most of a photo's model time.
        descriptors = face_descriptor(image, landmarks)[None] if self.identity_params.any() else None
        described = time.perf_counter()
        outputs = self.run_all(image[None], np.asarray(landmarks)[None], descriptors)
        models_done = time.perf_counter()
        continuous, probabilities, confidence = self.combine(outputs, widened=True)
        timings = {"descriptor": described - began, "models": models_done - described,
                   "ensemble": time.perf_counter() - models_done}
        return self.prediction(continuous[0], {g: p[0] for g, p in probabilities.items()},
                               {r: float(c[0]) for r, c in confidence.items()}, base=base, timings=timings,
                               reading=resolved(reading))

    def prediction(self, continuous: np.ndarray, probabilities: dict[str, np.ndarray], confidence: dict[str, float],
                   *, base: Recipe | None = None, timings: dict[str, float] | None = None,
                   reading: PhotoReading | None = None) -> Prediction:
        """The `Prediction` of one face from its combined (P,) values and group -> (K,) probabilities;
        with a photo's `reading`: with the macro member's attributes, Gender and Age are theirs
        (`MACRO_MEMBER_PARAMS`) and hair, hair colour and beard the gender's (`photo_looks`: a woman's hair
        style and colour from the photo's hair reading); with its measured colours, the skin tone and eye colour are
        (`with_colours`); its timings join `timings`. The recipe is then moved out of any visible fold,
        once, with everything that shapes the head set."""
        reading = reading or PhotoReading()
        attributes, colours, hair = reading.attributes, reading.colours, reading.hair
        choices = {g: schema.discrete_by_name()[g].options[int(np.argmax(p))] for g, p in probabilities.items()}
        sources: dict[str, str] = {}
        if attributes is not None:
            continuous = with_attributes(continuous, attributes)
            looks, sources = photo_looks(attributes, hair)
            choices.update(looks)
        recipe = recipe_from_parameters(continuous, choices, base=base)
        for group in WRITTEN_PROXIES:  # MakeHuman writes the default brows and lashes too: so does a prediction
            if not recipe.sets(group):
                recipe = recipe.with_choice(group, recipe.choice(group))
        # Six decimals, as MakeHuman writes modifier values.
        recipe = recipe.with_values({p.name: round(recipe.value(p.name), 6) for p in schema.CONTINUOUS})
        if colours is not None:
            recipe, continuous, probabilities = with_colours(recipe, continuous, probabilities, colours)
            sources.update(dict.fromkeys(MEASURED_GROUPS, MEASURED))
        timings = {**(timings or {}), **reading.timings}
        began = time.perf_counter()
        recipe, unfolded = without_folds(recipe)
        timings["unfold"] = time.perf_counter() - began
        return Prediction(recipe=recipe, continuous=continuous, probabilities=probabilities, confidence=confidence,
                          timings=timings, attributes=attributes, colours=colours, hair=hair,
                          unfolded=unfolded, sources=sources)

    def members(self, outputs: dict[str, list[np.ndarray]]) -> np.ndarray:
        """(K, N, P) float64 continuous predictions of every member (`ensemble.MEMBERS`), NaN where
        a member does not predict a parameter, from batched model outputs."""
        layouts = {m.name: m.layout for m in self.manifest.models}
        return member_predictions({n: o[0] for n, o in outputs.items()}, layouts)

    def combine(self, outputs: dict[str, list[np.ndarray]], weights: np.ndarray | None = None, *,
                widened: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Ensemble of batched model outputs: (continuous (N, P) in [0, 1], group -> (N, K)
        probabilities, region -> (N,) confidence). `weights` (K, P): default the photo weights;
        `widened`: de-shrunk as photos are (`self.spread`; confidence still reads the members' agreement)."""
        members = self.members(outputs)
        combined = combine_members(members, self.weights if weights is None else weights)
        spread = widen(combined, self.spread) if widened else combined
        continuous = _normalise_ethnic(np.clip(spread, 0.0, 1.0))
        return continuous, self.group_probabilities(outputs), self._confidence(members, combined)

    def group_probabilities(self, outputs: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
        """group -> (N, K) probabilities: each member's softmax, combined with the group's weights."""
        by_group: dict[str, dict[str, np.ndarray]] = {}
        for entry in self.manifest.models:
            for (group, _), logits in zip(entry.layout.groups, outputs[entry.name][1:], strict=True):
                by_group.setdefault(group, {})[entry.member] = _all_options(group, softmax(logits))
        probabilities = {}
        for group, probs in by_group.items():
            first = next(iter(probs.values()))
            stacked = stack_members(probs, *first.shape)
            weights = np.asarray(self.manifest.group_weights.get(group, [1.0 / len(probs)] * len(MEMBERS)))
            probabilities[group] = combine_members(stacked, np.repeat(weights[:, None], first.shape[1], axis=1))
        return probabilities

    def _confidence(self, members: np.ndarray, combined: np.ndarray) -> dict[str, np.ndarray]:
        calibration = self.manifest.calibration
        regions = np.asarray([p.region for p in schema.CONTINUOUS])
        confidence = {}
        for region in schema.REGIONS:
            if region not in calibration.baseline_l1:
                continue
            columns = regions == region
            skill = calibration.skill(region)
            deviation = np.abs(members[:, :, columns] - combined[None, :, columns])  # (K, N, p), NaN where absent
            disagreement = np.nanmean(deviation.transpose(1, 0, 2).reshape(len(combined), -1), axis=1)
            confidence[region] = np.clip(skill * (1.0 - disagreement / calibration.baseline_l1[region]), 0.0, 1.0)
        return confidence


def with_attributes(continuous: np.ndarray, attributes: FaceAttributes) -> np.ndarray:
    """(P,) values with the macro member's Gender and Age where `MACRO_MEMBER_PARAMS` says (a copy)."""
    out = np.array(continuous, dtype=np.float64)
    readings = {"macrodetails/Gender": attributes.gender_value, "macrodetails/Age": attributes.age_value}
    for index, param in enumerate(schema.CONTINUOUS):
        if param.name in MACRO_MEMBER_PARAMS:
            out[index] = readings[param.name]
    return out


#: What a photo's head wears, by the macro member's gender: the members read hair, hair colour and beard on
#: renders (held-out top-1 91, 95 and 89 %) but not on photos (hair length right for 32 % of the dev faces,
#: beards on a quarter of the women, grey hair on young ones; still 59 % dev / 57 % CelebA when told the macro
#: member's gender and age), where this rule measures 95 and 75 % (`f2p evaluate --labels`). The artist picks
#: the real ones in the studio.
PHOTO_LOOKS = {"female": {"hair": "long01", "hair_colour": "black", "beard": "none"},
               "male": {"hair": "short02", "hair_colour": "black", "beard": "none"}}
#: A woman's hair when no hair hangs beside her face in the photo (`face.hair`): short, or tied back,
#: which from the front reads the same; short01 leaves the forehead and eyes clear. Measured with the
#: shipped models on the first 200 CelebA crops (`f2p evaluate --labels`): 3 of 15 changed faces were
#: labelled short, 1 long (the rest medium, none or tied back). Men keep short02: MakeHuman's only styles
#: longer than short (bob01, bob02) cover an eye, and a man's hair measured on both sides moved 15 faces
#: to bob01 with FaceNet's distance to the photo worse by 0.15 (median) even where the label agreed.
SHORT_HAIR = "short01"
#: A woman's hair colour when her hair reads light or red against her skin (`face.hair.HairReading.light`,
#: `.red`). Dark hair keeps the gender's black (the dev faces' dark hair spans black to dark brown, which the
#: reading does not tell apart); a man's stays black too, since a bald crown reads as light as skin.
LIGHT_HAIR_COLOUR, RED_HAIR_COLOUR = "blonde", "red"
#: The groups `with_colours` sets from the photo's pixels.
MEASURED_GROUPS = ("skin", "eye_colour")
#: `Prediction.sources` values: measured in the photo's pixels; chosen by the macro member's gender.
MEASURED, BY_GENDER = "measured", "by gender"
CHOICE_SOURCES = (MEASURED, BY_GENDER)


def photo_looks(attributes: FaceAttributes, hair: HairReading | None = None
                ) -> tuple[dict[str, str], dict[str, str]]:
    """(group -> option, group -> how it was chosen: `BY_GENDER` or `MEASURED`): `PHOTO_LOOKS` of the macro
    member's reading (Gender >= 0.5 is male, as MakeHuman's 1 is); a woman's hair and hair colour measured
    in the photo's `hair` reading (`SHORT_HAIR` when none hangs beside her face, `RED_HAIR_COLOUR` or
    `LIGHT_HAIR_COLOUR` when her hair reads red or light; the colour stays the gender's when it could not be
    read)."""
    gender = "male" if attributes.gender_value >= 0.5 else "female"
    looks, sources = dict(PHOTO_LOOKS[gender]), dict.fromkeys(PHOTO_LOOKS[gender], BY_GENDER)
    if gender == "female" and hair is not None:
        sources["hair"] = MEASURED
        if not hair.on_either_side:
            looks["hair"] = SHORT_HAIR
        if hair.lightness is not None:
            sources["hair_colour"] = MEASURED
            if hair.red:
                looks["hair_colour"] = RED_HAIR_COLOUR
            elif hair.light:
                looks["hair_colour"] = LIGHT_HAIR_COLOUR
    return looks, sources


#: Proxies every predicted recipe names (MakeHuman 1.1 saves its default eyebrows and eyelashes as lines).
WRITTEN_PROXIES = ("eyebrows", "eyelashes")


def without_folds(recipe: Recipe) -> tuple[Recipe, tuple[str, ...]]:
    """The nearest recipe whose surface shows no visible fold (`render.folds.FoldFinder.fold_free`, toward
    the schema defaults), and the sliders moved to get there (none when `recipe` had no fold)."""
    from f2p_engine.render.folds import on_fold_thread

    unfolded = on_fold_thread(lambda finder: finder.fold_free(recipe)).result()
    return unfolded.recipe, unfolded.moved


def _all_options(group: str, probabilities: np.ndarray) -> np.ndarray:
    """(N, k) probabilities of a model trained when the group had k options -> (N, K) over all of the
    schema's options (options are only appended, so the first k are the same; the rest get 0)."""
    missing = len(schema.discrete_by_name()[group].options) - probabilities.shape[1]
    return np.pad(probabilities, ((0, 0), (0, missing))) if missing else probabilities


def _normalise_ethnic(continuous: np.ndarray) -> np.ndarray:
    """African/Asian/Caucasian rescaled to sum to 1, as MakeHuman keeps them ((N, P) in, copy out)."""
    columns = [i for i, p in enumerate(schema.CONTINUOUS) if p.name in schema.ETHNIC_MODIFIERS]
    out = continuous.copy()
    total = out[:, columns].sum(axis=1, keepdims=True)
    out[:, columns] = np.where(total > 1e-6, out[:, columns] / np.maximum(total, 1e-6), 1.0 / len(columns))
    return out


def with_colours(recipe: Recipe, continuous: np.ndarray, probabilities: dict[str, np.ndarray],
                 reading: ColourReading) -> tuple[Recipe, np.ndarray, dict[str, np.ndarray]]:
    """(recipe, (P,) values, probabilities) with the skin tone and eye colour measured in the photo's
    pixels (`face.colour`) in place of the models' guesses: the African slider (Asian and Caucasian keep
    the models' proportion), the eye material, and the system skin of the measured tone for the recipe's
    Gender and Age (final: removing a fold moves face sliders only). Probabilities of the skin and
    eye-colour groups become certain for the measured option, so combining frames or photos keeps it."""
    from f2p_engine.face.colour import with_african

    skin = schema.skin_option(schema.SKIN_ETHNIC_BY_TONE[reading.tone], recipe.value("macrodetails/Gender"),
                              recipe.value("macrodetails/Age"))
    predicted = tuple(recipe.value(name) for name in schema.ETHNIC_MODIFIERS)
    ethnic = dict(zip(schema.ETHNIC_MODIFIERS, with_african(predicted, reading.african), strict=True))
    recipe = recipe.with_values(ethnic).with_choice("skin", skin).with_choice("eye_colour", reading.eye_colour)
    continuous = continuous.copy()
    for name, value in ethnic.items():
        continuous[[p.name for p in schema.CONTINUOUS].index(name)] = value
    probabilities = dict(probabilities)
    for group, option in zip(MEASURED_GROUPS, (skin, reading.eye_colour), strict=True):
        options = schema.discrete_by_name()[group].options
        probabilities[group] = np.eye(len(options))[options.index(option)]
    return recipe, continuous, probabilities


def predict_photo(predictor: Predictor, image: RGBImage, adapter: str = DEFAULT_ADAPTER, base: Recipe | None = None
                  ) -> tuple[Prediction, AlignedFace]:
    """Photo -> (Prediction, the aligned and adapted face): detect, align, adapt, predict.

    Gender, age, skin and eye colour, and the hair beside the face, are read in the photo (`face.reading`,
    on the reading thread while the adapter and the members run). `timings` gains `align`, `adapt` and
    the readings'. InputError when the photo holds no face; the adapter
    name is one of `f2p_engine.adapt.available_adapters()`; `base` supplies name and kept lines.
    """
    from f2p_engine.adapt import create_adapter, stylise
    from f2p_engine.face.aligned import align_photo
    from f2p_engine.face.reading import read_photo_soon

    began = time.perf_counter()
    face = align_photo(image)
    aligned = time.perf_counter()
    reading = read_photo_soon(image, face.image, face.landmarks, face.detection)
    face = stylise(face, create_adapter(adapter))
    adapted = time.perf_counter()
    prediction = predictor.predict_aligned(face.image, face.landmarks, base=base, reading=reading)
    prediction.timings.update({"align": aligned - began, "adapt": adapted - aligned})
    return prediction, face
