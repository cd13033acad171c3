"""Fusion: several predictions of one face (burst frames, or photos of one person) -> one `Fusion`.

Each prediction's estimate of a parameter is weighted by that prediction's confidence for the
parameter's region (`Prediction.confidence`, in [0, 1]): a frame with a blink, motion blur or a
half-turned head disagrees between the ensemble's members, gets a low confidence for the
affected regions, and counts little there while still counting fully elsewhere. Continuous
values are averaged in model units ([0, 1]); discrete groups average their option probabilities
with the confidence of the group's region, then take the most probable option. The webcam burst
(`infer.burst`) and `f2p predict --fuse` both use `fuse_predictions`. Pure numpy, no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.headmodel import schema
from f2p_engine.infer.pipeline import BY_GENDER, MEASURED, Prediction, without_folds
from f2p_engine.recipe import Recipe, recipe_from_parameters


@dataclass(frozen=True, slots=True, kw_only=True)
class Fusion:
    """One prediction made of F predictions of the same face.

    `prediction`: the fused `Prediction`; `weights`: region -> (F,) float64 weights summing to 1;
    `disagreement`: region -> the weighted mean |prediction - fused| over the region's continuous
    parameters, in model units ([0, 1] = a slider's full range; 0 = the predictions agree).
    """

    prediction: Prediction
    weights: dict[str, np.ndarray] = field(repr=False)
    disagreement: dict[str, float]


def region_weights(confidences: Sequence[Mapping[str, float]]) -> dict[str, np.ndarray]:
    """Region -> (F,) weights summing to 1 over the F predictions, proportional to each one's confidence.

    A region a prediction reports no confidence for counts as confidence 1 (e.g. an uncalibrated
    model set); a region no prediction is confident about (all 0) gets equal weights.
    """
    weights = {}
    for region in schema.REGIONS:
        raw = np.array([max(0.0, c.get(region, 1.0)) for c in confidences], dtype=np.float64)
        total = raw.sum()
        weights[region] = raw / total if total > 0 else np.full(len(raw), 1.0 / len(raw))
    return weights


def fuse_predictions(predictions: Sequence[Prediction], base: Recipe | None = None) -> Fusion:
    """One prediction from several predictions of the same face, weighted by per-region confidence.

    `continuous` is the per-parameter weighted mean (ethnic shares keep summing to 1, since they
    share the macro region's weights); `probabilities` the weighted mean per group; `confidence`
    the mean confidence per region; `timings` the per-stage sums. `base` supplies the name and kept
    lines of the recipe. InputError if `predictions` is empty.
    """
    if not predictions:
        raise InputError("no prediction to combine")
    weights = region_weights([p.confidence for p in predictions])
    per_param = np.stack([weights[p.region] for p in schema.CONTINUOUS], axis=1)  # (F, P)
    values = np.stack([p.continuous for p in predictions])  # (F, P)
    continuous = (per_param * values).sum(axis=0)
    deviation = (per_param * np.abs(values - continuous)).sum(axis=0)  # (P,)
    regions = np.array([p.region for p in schema.CONTINUOUS])
    disagreement = {r: float(deviation[regions == r].mean()) for r in schema.REGIONS if (regions == r).any()}

    groups = schema.discrete_by_name()
    probabilities = {}
    for group in predictions[0].probabilities:
        stacked = np.stack([p.probabilities[group] for p in predictions])  # (F, K)
        probabilities[group] = weights[groups[group].region] @ stacked
    choices = {g: groups[g].options[int(np.argmax(p))] for g, p in probabilities.items()}
    # Choices the frames made not from the members' probabilities (a photo's looks by the macro member and its
    # measured hair, `photo_looks`; hair of models trained before hair existed): the most common.
    for group in groups:
        made = [p.recipe.choice(group) for p in predictions if p.recipe.sets(group) and (
            group not in probabilities or p.sources.get(group) in (BY_GENDER, MEASURED))]
        if made:
            choices[group] = Counter(made).most_common(1)[0][0]

    confidence = {r: float(np.mean([p.confidence[r] for p in predictions])) for r in predictions[0].confidence}
    recipe, unfolded = without_folds(recipe_from_parameters(continuous, choices, base=base))
    prediction = Prediction(recipe=recipe, continuous=continuous, probabilities=probabilities, confidence=confidence,
                            timings=sum_timings(p.timings for p in predictions), unfolded=unfolded,
                            sources={g: s for p in predictions for g, s in p.sources.items()})
    return Fusion(prediction=prediction, weights=weights, disagreement=disagreement)


def sum_timings(timings: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Stage -> total seconds over several runs (stages in order of first appearance)."""
    total: dict[str, float] = {}
    for stages in timings:
        for stage, seconds in stages.items():
            total[stage] = total.get(stage, 0.0) + seconds
    return total
