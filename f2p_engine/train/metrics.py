"""Error measures in the schema's normalised units (numpy only; training and evaluation share them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from f2p_engine.headmodel import schema
from f2p_engine.train.ensemble import CONSTANT_WEIGHTS, combine


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


def ensemble_metrics(*, target: np.ndarray, labels: np.ndarray, aggregate: np.ndarray, local: np.ndarray,
                     weights: np.ndarray, train_mean: np.ndarray, aggregate_probs: Mapping[str, np.ndarray],
                     ensemble_probs: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The held-out comparison of the paper's Tables 2 and 3, as `metrics.json` holds it.

    `target` (N, 111) in [0, 1] and `labels` (N, G) int in schema order; `aggregate` (N, 111) and
    `local` (N, 111, NaN where no local model) predictions; `weights` (111,) the learned aggregate
    weights; `train_mean` (111,) the mean-prediction baseline; group -> (N, K) probabilities of the
    aggregate model and of the ensemble. L1 is in normalised parameter units; `constant_weights`
    compares mean L1 over the parameters that have a local model, for w = 0, 0.5, 1 and learned.
    """
    params = [p.name for p in schema.CONTINUOUS]
    baseline = np.broadcast_to(train_mean, target.shape)
    ensemble = combine(aggregate, local, weights)
    has_local = ~np.isnan(local).all(axis=0)
    covered = [n for n, keep in zip(params, has_local, strict=True) if keep]
    local_l1 = region_l1(np.where(np.isnan(local), target, local)[:, has_local], target[:, has_local], covered)
    aggregate_l1 = region_l1(aggregate, target, params)
    ensemble_l1 = region_l1(ensemble, target, params)
    regions = {region: {"baseline_l1": base, "aggregate_l1": aggregate_l1[region], "local_l1": local_l1.get(region),
                        "ensemble_l1": ensemble_l1[region]}
               for region, base in region_l1(baseline, target, params).items()}
    group_index = {g.name: i for i, g in enumerate(schema.DISCRETE_GROUPS)}
    discrete = {g: {"accuracy": accuracy(probs, labels[:, group_index[g]]),
                    "aggregate_accuracy": accuracy(aggregate_probs[g], labels[:, group_index[g]])}
                for g, probs in ensemble_probs.items()}

    def local_params_l1(predicted: np.ndarray) -> float:
        return float(np.abs(predicted - target)[:, has_local].mean()) if covered else float("nan")

    constant = {f"{w:.1f}": local_params_l1(combine(aggregate, local, w)) for w in CONSTANT_WEIGHTS}
    constant["learned"] = local_params_l1(ensemble)
    return {"regions": regions, "discrete": discrete, "constant_weights": constant}
