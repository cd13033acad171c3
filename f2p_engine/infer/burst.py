"""Burst capture: several predictions of the same face (webcam frames) -> one steadier `Prediction`.

Each frame's estimate of a parameter is weighted by that frame's confidence for the parameter's
region (`Prediction.confidence`, in [0, 1]): a frame with a blink, motion blur or a half-turned
head disagrees between aggregate and local models, gets a low confidence for the affected
regions, and counts little there while still counting fully elsewhere. Continuous values are
averaged in model units ([0, 1]); discrete groups average their option probabilities with the
confidence of the group's region, then take the most probable option. Pure numpy, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.headmodel import schema
from f2p_engine.infer.pipeline import Prediction
from f2p_engine.recipe import Recipe, recipe_from_parameters


def region_weights(confidences: Sequence[dict[str, float]]) -> dict[str, np.ndarray]:
    """Region -> (F,) weights summing to 1 over the F frames, proportional to each frame's confidence.

    A region a frame reports no confidence for counts as confidence 1 (e.g. an uncalibrated model
    set); a region no frame is confident about (all 0) gets equal weights.
    """
    weights = {}
    for region in schema.REGIONS:
        raw = np.array([max(0.0, c.get(region, 1.0)) for c in confidences], dtype=np.float64)
        total = raw.sum()
        weights[region] = raw / total if total > 0 else np.full(len(raw), 1.0 / len(raw))
    return weights


def combine_burst(predictions: Sequence[Prediction], base: Recipe | None = None) -> Prediction:
    """One prediction from a burst of predictions of the same face, weighted by per-region confidence.

    `continuous` is the per-parameter weighted mean (ethnic shares keep summing to 1, since they
    share the macro region's weights); `probabilities` the weighted mean per group; `confidence`
    the mean confidence per region over the frames; `timings` the per-stage sums. `base` supplies
    the name and kept lines of the recipe. InputError if `predictions` is empty.
    """
    if not predictions:
        raise InputError("no frame of the burst gave a prediction")
    weights = region_weights([p.confidence for p in predictions])
    per_param = np.stack([weights[p.region] for p in schema.CONTINUOUS], axis=1)  # (F, 111)
    continuous = (per_param * np.stack([p.continuous for p in predictions])).sum(axis=0)

    groups = schema.discrete_by_name()
    probabilities = {}
    for group in predictions[0].probabilities:
        stacked = np.stack([p.probabilities[group] for p in predictions])  # (F, K)
        probabilities[group] = weights[groups[group].region] @ stacked
    choices = {g: groups[g].options[int(np.argmax(p))] for g, p in probabilities.items()}

    confidence = {r: float(np.mean([p.confidence[r] for p in predictions])) for r in predictions[0].confidence}
    return Prediction(recipe=recipe_from_parameters(continuous, choices, base=base), continuous=continuous,
                      probabilities=probabilities, confidence=confidence,
                      timings=sum_timings(p.timings for p in predictions))


def steadiest_frame(predictions: Sequence[Prediction]) -> int:
    """Index of the frame the models were surest of (highest mean confidence over its regions): the
    frame to show for a burst. InputError if `predictions` is empty."""
    if not predictions:
        raise InputError("no frame of the burst gave a prediction")
    means = [float(np.mean(list(p.confidence.values()))) if p.confidence else 0.0 for p in predictions]
    return int(np.argmax(means))


def sum_timings(timings: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Stage -> total seconds over several runs (stages in order of first appearance)."""
    total: dict[str, float] = {}
    for stages in timings:
        for stage, seconds in stages.items():
            total[stage] = total.get(stage, 0.0) + seconds
    return total
