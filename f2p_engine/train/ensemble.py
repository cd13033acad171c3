"""Ensemble weight fitting (numpy only): per parameter, w * aggregate + (1 - w) * local.

For parameter i, the least-squares weight on held-out predictions a (aggregate), l (local) and
targets y has a closed form: y - l = w (a - l)  =>  w = sum((a - l)(y - l)) / sum((a - l)^2).
The sign is unrestricted (w may leave [0, 1], as in the paper). Discrete groups get one weight
per group, fitted the same way on softmax probabilities against one-hot targets.
"""

from __future__ import annotations

import numpy as np

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
