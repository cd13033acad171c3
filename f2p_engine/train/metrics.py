"""Error measures in the schema's normalised units (numpy only; training and evaluation share them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from f2p_engine.ensemble import AGGREGATE, LOCAL, MEMBERS, combine_members
from f2p_engine.headmodel import schema

#: Constant weights on the aggregate (1 - w on the local model) the learned ones are compared with.
CONSTANT_WEIGHTS = (0.0, 0.5, 1.0)


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


def ensemble_metrics(*, target: np.ndarray, labels: np.ndarray, members: np.ndarray, weights: np.ndarray,
                     photo_weights: np.ndarray, train_mean: np.ndarray, aggregate_probs: Mapping[str, np.ndarray],
                     ensemble_probs: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The held-out comparison of the paper's Tables 2 and 3, as `metrics.json` holds it.

    `target` (N, P) in [0, 1] and `labels` (N, G) int in schema order; `members` (K, N, P) the
    members' predictions (`ensemble.MEMBERS` order, NaN where a member does not predict);
    `weights` (K, P) the weights fitted on renders and `photo_weights` (K, P) the ones applied to
    photos; `train_mean` (P,) the mean-prediction baseline; group -> (N, K) probabilities of the
    aggregate model and of the ensemble. L1 is in normalised parameter units. Per region: L1 of
    the baseline, of each member (over the parameters it predicts), of the fitted ensemble
    (`ensemble_l1`) and of the photo-weighted one (`photo_l1`). `constant_weights` compares, over
    the parameters with a local model, the aggregate/local pair at w = 0, 0.5, 1 on the aggregate
    with the learned K-member ensemble.
    """
    params = [p.name for p in schema.CONTINUOUS]
    baseline = np.broadcast_to(train_mean, target.shape)
    ensemble = combine_members(members, weights)
    member_l1 = {}
    for member, predicted in zip(MEMBERS, members, strict=True):
        covered = ~np.isnan(predicted).any(axis=0)
        names = [n for n, keep in zip(params, covered, strict=True) if keep]
        member_l1[member] = region_l1(predicted[:, covered], target[:, covered], names) if names else {}
    ensemble_l1 = region_l1(ensemble, target, params)
    photo_l1 = region_l1(combine_members(members, photo_weights), target, params)
    regions = {region: {"baseline_l1": base, **{f"{m}_l1": member_l1[m].get(region) for m in MEMBERS},
                        "ensemble_l1": ensemble_l1[region], "photo_l1": photo_l1[region]}
               for region, base in region_l1(baseline, target, params).items()}
    group_index = {g.name: i for i, g in enumerate(schema.DISCRETE_GROUPS)}
    discrete = {g: {"accuracy": accuracy(probs, labels[:, group_index[g]]),
                    "aggregate_accuracy": accuracy(aggregate_probs[g], labels[:, group_index[g]])}
                for g, probs in ensemble_probs.items()}

    aggregate, local = members[MEMBERS.index(AGGREGATE)], members[MEMBERS.index(LOCAL)]
    has_local = ~np.isnan(local).any(axis=0)

    def local_params_l1(predicted: np.ndarray) -> float:
        return float(np.abs(predicted - target)[:, has_local].mean()) if has_local.any() else float("nan")

    constant = {f"{w:.1f}": local_params_l1(w * aggregate + (1.0 - w) * local) for w in CONSTANT_WEIGHTS}
    constant["learned"] = local_params_l1(ensemble)
    return {"regions": regions, "discrete": discrete, "constant_weights": constant}
