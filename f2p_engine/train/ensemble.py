"""The ensemble (numpy only): per parameter, w * aggregate + (1 - w) * local; fitting and combining.

Predictions are batched: continuous arrays are (N, 111) float in schema order, discrete ones
(N, K) probabilities per group. A parameter no local model predicts is NaN in the local array and
takes the aggregate prediction whatever its weight. Inference imports `combine` from here, so
fitting and applying the weights cannot disagree.

For parameter i, the least-squares weight on held-out predictions a (aggregate), l (local) and
targets y has a closed form: y - l = w (a - l)  =>  w = sum((a - l)(y - l)) / sum((a - l)^2).
The sign is unrestricted (w may leave [0, 1], as in the paper). Discrete groups get one weight
per group, fitted the same way on softmax probabilities against one-hot targets.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from f2p_engine.headmodel import schema
from f2p_engine.nets.spec import OutputLayout

#: Weight used where aggregate and local predictions never differ (no information either way).
TIE_WEIGHT = 0.5
CONSTANT_WEIGHTS = (0.0, 0.5, 1.0)


def fit_weights(aggregate: np.ndarray, local: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares weights w (P,) float64 from (N, P) held-out predictions and targets.

    A column where `local` is NaN (no local model predicts that parameter) gets w = 1.
    """
    aggregate, local, target = (np.asarray(a, dtype=np.float64) for a in (aggregate, local, target))
    if not aggregate.shape == local.shape == target.shape or aggregate.ndim != 2:
        raise ValueError(f"expected equal (N, P) arrays, got {aggregate.shape}, {local.shape}, {target.shape}")
    has_local = ~np.isnan(local).any(axis=0)
    diff = np.where(has_local, aggregate - local, 0.0)
    numerator = (diff * np.where(has_local, target - local, 0.0)).sum(axis=0)
    denominator = np.square(diff).sum(axis=0)
    tiny = denominator <= 1e-12 * max(1, len(target))
    weights = np.where(tiny, TIE_WEIGHT, numerator / np.where(tiny, 1.0, denominator))
    return np.where(has_local, weights, 1.0)


def fit_group_weight(aggregate_probs: np.ndarray, local_probs: np.ndarray, labels: np.ndarray) -> float:
    """One least-squares weight for a discrete group from (N, K) probabilities and (N,) int labels."""
    one_hot = np.eye(aggregate_probs.shape[1])[np.asarray(labels)]
    return float(fit_weights(aggregate_probs.reshape(-1, 1), local_probs.reshape(-1, 1), one_hot.reshape(-1, 1))[0])


def assemble_local(outputs: Mapping[str, np.ndarray], layouts: Mapping[str, OutputLayout]) -> np.ndarray:
    """Scatter local models' continuous outputs ((N, P_model) each) into one (N, 111) array, NaN elsewhere."""
    count = len(next(iter(outputs.values()))) if outputs else 0
    local = np.full((count, len(schema.CONTINUOUS)), np.nan)
    for name, values in outputs.items():
        local[:, layouts[name].param_indices] = values
    return local


def weight_vector(weights: Mapping[str, float]) -> np.ndarray:
    """(111,) float64 aggregate weights in schema order; a parameter without an entry gets 1."""
    return np.asarray([weights.get(p.name, 1.0) for p in schema.CONTINUOUS], dtype=np.float64)


def combine(aggregate: np.ndarray, local: np.ndarray, weights: np.ndarray | float) -> np.ndarray:
    """w * aggregate + (1 - w) * local where a local prediction exists, else aggregate; (N, P) float64."""
    aggregate = np.asarray(aggregate, dtype=np.float64)
    mixed = weights * aggregate + (1.0 - np.asarray(weights)) * local
    return np.where(np.isnan(local), aggregate, mixed)
