"""Inference: photo -> align -> adapter -> crops -> ONNX models -> ensemble -> `Prediction` (a Recipe).

Runs on onnxruntime and numpy only (never torch). `Predictor.predict_aligned` starts from an
aligned face (as the synthetic samples are); `predict_photo` runs the whole chain from a photo.

Confidence per region, in [0, 1]: the region's held-out skill s = 1 - ensemble L1 / b (b: the
mean-prediction baseline L1; s = 0 means no better than guessing the mean), times, where the
region has a local model, the agreement on this face 1 - d / b, d the mean |aggregate - local|
over the region's parameters (two independent models that agree are more likely right).
Agreement alone is not enough: two models that both learned nothing agree on the mean.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.headmodel import schema
from f2p_engine.infer.manifest import AGGREGATE, ModelEntry, ModelManifest, load_manifest
from f2p_engine.nets.spec import preprocess
from f2p_engine.recipe import Recipe, recipe_from_parameters
from f2p_engine.train.ensemble import assemble_local, combine, weight_vector
from f2p_engine.train.metrics import softmax

if TYPE_CHECKING:
    from f2p_engine.face.aligned import AlignedFace
    from f2p_engine.face.image import RGBImage


@dataclass(frozen=True, slots=True, kw_only=True)
class Prediction:
    """The ensemble's answer for one face.

    `recipe`: the predicted character; `continuous`: (111,) float64 in [0, 1], schema order;
    `probabilities`: group -> (K,) float64 option probabilities; `confidence`: region -> [0, 1];
    `timings`: stage -> seconds.
    """

    recipe: Recipe
    continuous: np.ndarray = field(repr=False)
    probabilities: dict[str, np.ndarray] = field(repr=False)
    confidence: dict[str, float]
    timings: dict[str, float]


class Predictor:
    """ONNX sessions of a verified model set, ready to predict (load once, predict many)."""

    def __init__(self, manifest: ModelManifest, threads: int = 1) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.manifest = manifest
        self.sessions = {m.name: onnxruntime.InferenceSession(str(manifest.path(m)), options,
                                                              providers=["CPUExecutionProvider"])
                         for m in manifest.models}
        self.weights = weight_vector(manifest.continuous_weights)

    @classmethod
    def load(cls, directory: str | os.PathLike[str] | None = None, threads: int = 1) -> Predictor:
        """Verify (sha256) and load the models in `directory` (default: the shipped ones)."""
        return cls(load_manifest(directory), threads)

    def run_model(self, entry: ModelEntry, images: np.ndarray, landmarks: np.ndarray) -> list[np.ndarray]:
        """Outputs of one model for aligned images (N, S, S, 3) uint8 and landmarks (N, 68, 2):
        [continuous (N, P), *logits (N, K)]."""
        batch = np.stack([preprocess(i, lm, entry.preprocessing) for i, lm in zip(images, landmarks, strict=True)])
        return self.sessions[entry.name].run(None, {"image": batch})

    def run_all(self, images: np.ndarray, landmarks: np.ndarray) -> dict[str, list[np.ndarray]]:
        """Every model's outputs, by model name (see `run_model`)."""
        return {m.name: self.run_model(m, images, landmarks) for m in self.manifest.models}

    def predict_aligned(self, image: np.ndarray, landmarks: np.ndarray, base: Recipe | None = None) -> Prediction:
        """Predict from one aligned face: (S, S, 3) uint8 RGB and its (68, 2) aligned-pixel landmarks."""
        began = time.perf_counter()
        outputs = self.run_all(image[None], np.asarray(landmarks)[None])
        models_done = time.perf_counter()
        continuous, probabilities, confidence = self.combine(outputs)
        choices = {g: schema.discrete_by_name()[g].options[int(np.argmax(p[0]))] for g, p in probabilities.items()}
        recipe = recipe_from_parameters(continuous[0], choices, base=base)
        # Six decimals, as MakeHuman writes modifier values.
        recipe = recipe.with_values({p.name: round(recipe.value(p.name), 6) for p in schema.CONTINUOUS})
        timings = {"models": models_done - began, "ensemble": time.perf_counter() - models_done}
        return Prediction(recipe=recipe, continuous=continuous[0], probabilities={g: p[0] for g, p in
                                                                                 probabilities.items()},
                          confidence={r: float(c[0]) for r, c in confidence.items()}, timings=timings)

    def combine(self, outputs: dict[str, list[np.ndarray]]
                ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Ensemble of batched model outputs: (continuous (N, 111) in [0, 1], group -> (N, K)
        probabilities, region -> (N,) confidence)."""
        entries = {m.name: m for m in self.manifest.models}
        aggregate = outputs[AGGREGATE][0].astype(np.float64)
        local = assemble_local({n: o[0] for n, o in outputs.items() if n != AGGREGATE},
                               {n: e.layout for n, e in entries.items()})
        continuous = _normalise_ethnic(np.clip(combine(aggregate, local, self.weights), 0.0, 1.0))

        aggregate_probs = {g: softmax(logits) for (g, _), logits in
                           zip(entries[AGGREGATE].layout.groups, outputs[AGGREGATE][1:], strict=True)}
        probabilities = dict(aggregate_probs)
        for name, entry in entries.items():
            if name == AGGREGATE:
                continue
            for (group, _), logits in zip(entry.layout.groups, outputs[name][1:], strict=True):
                probs = softmax(logits)
                if group in aggregate_probs:
                    probs = combine(aggregate_probs[group], probs, self.manifest.group_weights.get(group, 1.0))
                probabilities[group] = probs
        return continuous, probabilities, self._confidence(aggregate, local)

    def _confidence(self, aggregate: np.ndarray, local: np.ndarray) -> dict[str, np.ndarray]:
        baseline = self.manifest.calibration.get("baseline_l1", {})
        ensemble_l1 = self.manifest.calibration.get("ensemble_l1", {})
        regions = np.asarray([p.region for p in schema.CONTINUOUS])
        confidence = {}
        for region in schema.REGIONS:
            if region not in baseline:
                continue
            columns = regions == region
            skill = np.full(len(aggregate), 1.0 - ensemble_l1.get(region, baseline[region]) / baseline[region])
            if np.isnan(local[:, columns]).all():
                confidence[region] = skill
            else:
                disagreement = np.nanmean(np.abs(aggregate[:, columns] - local[:, columns]), axis=1)
                confidence[region] = np.clip(skill, 0.0, 1.0) * (1.0 - disagreement / baseline[region])
        return {r: np.clip(c, 0.0, 1.0) for r, c in confidence.items()}


def _normalise_ethnic(continuous: np.ndarray) -> np.ndarray:
    """African/Asian/Caucasian rescaled to sum to 1, as MakeHuman keeps them ((N, 111) in, copy out)."""
    columns = [i for i, p in enumerate(schema.CONTINUOUS) if p.name in schema.ETHNIC_MODIFIERS]
    out = continuous.copy()
    total = out[:, columns].sum(axis=1, keepdims=True)
    out[:, columns] = np.where(total > 1e-6, out[:, columns] / np.maximum(total, 1e-6), 1.0 / len(columns))
    return out


def predict_photo(predictor: Predictor, image: RGBImage, adapter: str = DEFAULT_ADAPTER, base: Recipe | None = None
                  ) -> tuple[Prediction, AlignedFace]:
    """Photo -> (Prediction, the aligned and adapted face): detect, align, adapt, predict.

    `timings` gains `align` and `adapt`. InputError when the photo holds no face; the adapter
    name is one of `f2p_engine.adapt.available_adapters()`; `base` supplies name and kept lines.
    """
    from f2p_engine.adapt import create_adapter, stylise
    from f2p_engine.face.aligned import align_photo

    began = time.perf_counter()
    face = align_photo(image)
    aligned = time.perf_counter()
    face = stylise(face, create_adapter(adapter))
    adapted = time.perf_counter()
    prediction = predictor.predict_aligned(face.image, face.landmarks, base=base)
    prediction.timings.update({"align": aligned - began, "adapt": adapted - aligned})
    return prediction, face
