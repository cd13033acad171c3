"""Error measures in the schema's normalised units (numpy only; training and evaluation share them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from f2p_engine.headmodel import schema


def region_l1(predicted: np.ndarray, target: np.ndarray, params: Sequence[str]) -> dict[str, float]:
    """Mean absolute error per region: (N, P) predictions and targets whose columns are `params`.

    Regions appear in schema order; units are normalised parameter units ([0, 1] = full range).
    """
    region_of = {p.name: p.region for p in schema.CONTINUOUS}
    regions = np.asarray([region_of[name] for name in params])
    error = np.abs(np.asarray(predicted, dtype=np.float64) - np.asarray(target, dtype=np.float64))
    return {region: float(error[:, regions == region].mean()) for region in schema.REGIONS if region in regions}


def accuracy(logits_or_probs: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy of (N, K) scores against (N,) int labels."""
    return float(np.mean(np.argmax(logits_or_probs, axis=1) == np.asarray(labels)))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, K) logits, float64."""
    shifted = np.asarray(logits, dtype=np.float64) - np.max(logits, axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
