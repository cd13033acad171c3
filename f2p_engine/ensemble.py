"""The ensemble (numpy only): K members combined per parameter with weights that sum to 1.

Members, in weight-row order (`MEMBERS`): the aggregate CNN (whole aligned face), the local CNNs
(one per region, scattered into one array by `scatter_params`) and the identity member (the
face-recognition descriptor regressed to every parameter). Training fits the weights, inference
and evaluation apply them, all through this module, so the three cannot disagree.

Predictions are batched and stacked by member: (K, N, P) float, NaN where a member does not
predict a parameter (the local member outside the local regions, a member left out). For
parameter p the ensemble is sum_k w[k, p] * m[k, :, p] over the members that predict p, and the
weights of those members sum to 1 (the paper's w and 1 - w for K = 2).

Fitting (`fit_member_weights`) is least squares on held-out predictions under that constraint:
with r the last available member, y - m_r = sum_{k != r} w_k (m_k - m_r), solved per parameter in
closed form. Signs are unrestricted (weights may leave [0, 1], as in the paper). Discrete groups
use the same fit on softmax probabilities against one-hot targets, one weight row per group.

Weights fitted on clean renders trust the pixel CNNs where they fail on photos (the identity
member reads a representation trained on real faces). `shift_toward` moves a weight set toward
one member by a per-parameter amount in [0, 1]; `photo_weights` does it per region, with amounts
chosen on real photos.

Held-out measures live here too (`region_l1`, `accuracy`, `ensemble_metrics` -> `EnsembleMetrics`):
training records them in the model manifest and evaluation reports them, with the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from f2p_engine.headmodel import schema

if TYPE_CHECKING:
    from f2p_engine.nets.spec import OutputLayout

AGGREGATE, LOCAL, IDENTITY = "aggregate", "local", "identity"
#: Member order of every weight array and prediction stack.
MEMBERS: tuple[str, ...] = (AGGREGATE, LOCAL, IDENTITY)
#: Constant weights on the aggregate (1 - w on the local model) the learned ones are compared with.
CONSTANT_WEIGHTS = (0.0, 0.5, 1.0)
#: Least-squares systems whose matrix is this close to singular carry no information: equal weights.
_SINGULAR = 1e-12


def model_member(model_name: str) -> str:
    """The member a model belongs to: "aggregate" and "identity" are their own; a region's model is local."""
    return model_name if model_name in (AGGREGATE, IDENTITY) else LOCAL


def stack_members(predictions: Mapping[str, np.ndarray], count: int, width: int) -> np.ndarray:
    """(K, N, P) float64 stack in `MEMBERS` order from member -> (N, P) arrays; absent members are NaN."""
    stacked = np.full((len(MEMBERS), count, width), np.nan)
    for k, member in enumerate(MEMBERS):
        if member in predictions:
            stacked[k] = predictions[member]
    return stacked


def available(predictions: np.ndarray) -> np.ndarray:
    """(K, P) bool: member k predicts parameter p (no NaN in its column)."""
    return ~np.isnan(predictions).any(axis=1)


def fit_member_weights(predictions: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares weights (K, P) float64 from held-out (K, N, P) predictions and (N, P) targets.

    Per parameter the weights of the members that predict it sum to 1; the others get 0. Where
    the available members' predictions never differ (no information either way) they share equally.
    """
    predictions, target = np.asarray(predictions, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if predictions.ndim != 3 or predictions.shape[1:] != target.shape:
        raise ValueError(f"expected (K, N, P) predictions and (N, P) targets, got {predictions.shape}, {target.shape}")
    present = available(predictions)
    weights = np.zeros(present.shape)
    for p in range(target.shape[1]):
        members = np.flatnonzero(present[:, p])
        if len(members) == 0:
            raise ValueError(f"parameter {p}: no member predicts it")
        reference, others = members[-1], members[:-1]
        design = (predictions[others, :, p] - predictions[reference, :, p]).T
        gram = design.T @ design
        if len(others) == 0 or np.linalg.cond(gram) > 1 / _SINGULAR:
            weights[members, p] = 1.0 / len(members)
            continue
        solved = np.linalg.solve(gram, design.T @ (target[:, p] - predictions[reference, :, p]))
        weights[others, p] = solved
        weights[reference, p] = 1.0 - solved.sum()
    return weights


def combine_members(predictions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The ensemble (N, P) float64 of (K, N, P) predictions with (K, P) weights.

    Members that do not predict a parameter are left out and the weights of the others are
    renormalised to sum to 1 there (an untrained member's weight is then shared, not lost).
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    present = available(predictions)
    weights = np.where(present, np.asarray(weights, dtype=np.float64), 0.0)
    total = weights.sum(axis=0)
    uniform = present / np.maximum(present.sum(axis=0), 1)
    weights = np.where(np.abs(total) > _SINGULAR, weights / np.where(np.abs(total) > _SINGULAR, total, 1.0), uniform)
    return np.einsum("kp,knp->np", weights, np.nan_to_num(predictions))


def shift_toward(weights: np.ndarray, member: str, amounts: np.ndarray, predicts: np.ndarray) -> np.ndarray:
    """(1 - a) * weights + a * (all weight on `member`), per parameter, where `member` predicts.

    `weights` (K, P); `amounts` (P,) in [0, 1]; `predicts` (P,) bool: columns `member` covers.
    """
    target = np.zeros_like(weights)
    target[MEMBERS.index(member)] = 1.0
    amounts = np.where(predicts, np.clip(amounts, 0.0, 1.0), 0.0)
    return (1.0 - amounts) * weights + amounts * target


def scatter_params(outputs: Mapping[str, np.ndarray], layouts: Mapping[str, OutputLayout], count: int) -> np.ndarray:
    """Models' continuous outputs ((N, P_model) each, N = `count`) scattered into one (N, P) schema-ordered
    array, NaN where none of them predicts (the local models make one member this way)."""
    scattered = np.full((count, len(schema.CONTINUOUS)), np.nan)
    for name, values in outputs.items():
        scattered[:, layouts[name].param_indices] = values
    return scattered


def member_predictions(continuous: Mapping[str, np.ndarray], layouts: Mapping[str, OutputLayout]) -> np.ndarray:
    """(K, N, P) stack (`stack_members`) from model name -> its (N, P_model) continuous outputs: each
    model's columns scattered into its member's row (`model_member`, `scatter_params`)."""
    count = len(next(iter(continuous.values())))
    by_member = {member: scatter_params({n: v for n, v in continuous.items() if model_member(n) == member},
                                        layouts, count) for member in MEMBERS}
    return stack_members(by_member, count, len(schema.CONTINUOUS))


def photo_weights(fitted: np.ndarray, shift: Mapping[str, float], identity_params: np.ndarray) -> np.ndarray:
    """(K, P) weights for photos: `fitted` (K, P) moved toward the identity member by `shift`
    (region -> amount in [0, 1]; regions not named stay as fitted) on the parameters it predicts
    (`identity_params`, (P,) bool)."""
    amounts = np.asarray([shift.get(p.region, 0.0) for p in schema.CONTINUOUS], dtype=np.float64)
    return shift_toward(fitted, IDENTITY, amounts, identity_params)


#: Widest a parameter's photo predictions are stretched (`fit_photo_spread`): beyond it the stretch
#: mostly amplifies noise (measured: a cap of 3 judged no better than 2 by FaceNet).
MAX_PHOTO_SPREAD = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoSpread:
    """Per-parameter de-shrinking of photo predictions: (P,) `centre` (the photos' mean prediction),
    `scale` (>= 1) and `target` (the training mean), normalised units; see `widen`."""

    centre: np.ndarray
    scale: np.ndarray
    target: np.ndarray


def fit_photo_spread(photo_predictions: np.ndarray, prior_std: np.ndarray, columns: np.ndarray, target: np.ndarray,
                     *, spread: float = 0.9, cap: float = MAX_PHOTO_SPREAD) -> PhotoSpread:
    """The `PhotoSpread` that brings the spread across people of (N, P) `photo_predictions` to `spread` x
    the training prior's (`prior_std`, (P,)) on the `columns` ((P,) bool) it may change, each scale in [1, `cap`].

    Why: regressors read photos through a domain gap, so what they cannot see they predict near the
    mean (ridge and L2 losses return the posterior mean; ensembling averages further): heads come out
    alike. Stretching each parameter about the photos' own mean, re-centred on the training mean,
    gives back the spread people have, and the FaceNet judge measured it as more alike, not less.
    """
    predictions = np.asarray(photo_predictions, dtype=np.float64)
    std = predictions.std(axis=0)
    scale = np.clip(spread * np.asarray(prior_std, dtype=np.float64) / np.maximum(std, 1e-6), 1.0, cap)
    columns = np.asarray(columns, dtype=bool)
    centre = predictions.mean(axis=0)
    return PhotoSpread(centre=np.where(columns, centre, 0.0), scale=np.where(columns, scale, 1.0),
                       target=np.where(columns, np.asarray(target, dtype=np.float64), 0.0))


def widen(continuous: np.ndarray, spread: PhotoSpread) -> np.ndarray:
    """(N, P) values in [0, 1] stretched by `spread`: target + scale * (x - centre), clipped (a copy)."""
    return np.clip(spread.target + spread.scale * (np.asarray(continuous, dtype=np.float64) - spread.centre), 0.0, 1.0)


def weight_matrix(weights: Mapping[str, Sequence[float]], names: Sequence[str]) -> np.ndarray:
    """(K, len(names)) float64 from name -> K weights (`MEMBERS` order); a name without an entry
    trusts the aggregate alone."""
    default = [1.0 if m == AGGREGATE else 0.0 for m in MEMBERS]
    return np.asarray([list(weights.get(n, default)) for n in names], dtype=np.float64).T


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, K) logits, float64."""
    shifted = np.asarray(logits, dtype=np.float64) - np.max(logits, axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


# -- held-out measures ---------------------------------------------------------------------------
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


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionErrors:
    """Mean L1 of one region on held-out data, normalised units: the mean-prediction `baseline`, each
    member over the parameters it predicts (`members`, `MEMBERS` order; None where it predicts none),
    the `ensemble` with the weights fitted on renders and the `photo`-weighted one."""

    baseline: float
    members: tuple[float | None, ...]
    ensemble: float
    photo: float

    def to_json(self) -> dict[str, float | None]:
        return {"baseline_l1": self.baseline, **{f"{m}_l1": v for m, v in zip(MEMBERS, self.members, strict=True)},
                "ensemble_l1": self.ensemble, "photo_l1": self.photo}


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupAccuracy:
    """Top-1 accuracy of one discrete group: the ensemble's and the aggregate model's alone."""

    ensemble: float
    aggregate: float

    def to_json(self) -> dict[str, float]:
        return {"accuracy": self.ensemble, "aggregate_accuracy": self.aggregate}


@dataclass(frozen=True, slots=True, kw_only=True)
class EnsembleMetrics:
    """The held-out comparison of the paper's Tables 2 and 3 over `samples` samples.

    `regions`: region -> `RegionErrors` (schema order); `discrete`: group -> `GroupAccuracy`;
    `constant_weights`: L1 over the parameters with a local model of the aggregate/local pair at
    w = 0, 0.5, 1 on the aggregate ("0.0", "0.5", "1.0") and of the learned ensemble ("learned").
    """

    samples: int
    regions: Mapping[str, RegionErrors]
    discrete: Mapping[str, GroupAccuracy]
    constant_weights: Mapping[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"samples": self.samples, "regions": {r: e.to_json() for r, e in self.regions.items()},
                "discrete": {g: a.to_json() for g, a in self.discrete.items()},
                "constant_weights": dict(self.constant_weights)}


def ensemble_metrics(*, target: np.ndarray, labels: np.ndarray, members: np.ndarray, weights: np.ndarray,
                     photo_weights: np.ndarray, train_mean: np.ndarray, aggregate_probs: Mapping[str, np.ndarray],
                     ensemble_probs: Mapping[str, np.ndarray]) -> EnsembleMetrics:
    """The held-out comparison (`EnsembleMetrics`) of members and ensemble.

    `target` (N, P) in [0, 1] and `labels` (N, G) int in schema order; `members` (K, N, P) the
    members' predictions (`MEMBERS` order, NaN where a member does not predict); `weights` (K, P)
    the weights fitted on renders and `photo_weights` (K, P) the ones applied to photos;
    `train_mean` (P,) the mean-prediction baseline; group -> (N, K) probabilities of the aggregate
    model and of the ensemble.
    """
    params = [p.name for p in schema.CONTINUOUS]
    baseline = np.broadcast_to(train_mean, target.shape)
    ensemble = combine_members(members, weights)
    member_l1 = []
    for predicted in members:
        covered = ~np.isnan(predicted).any(axis=0)
        names = [n for n, keep in zip(params, covered, strict=True) if keep]
        member_l1.append(region_l1(predicted[:, covered], target[:, covered], names) if names else {})
    ensemble_l1 = region_l1(ensemble, target, params)
    photo_l1 = region_l1(combine_members(members, photo_weights), target, params)
    regions = {region: RegionErrors(baseline=base, members=tuple(m.get(region) for m in member_l1),
                                    ensemble=ensemble_l1[region], photo=photo_l1[region])
               for region, base in region_l1(baseline, target, params).items()}
    group_index = {g.name: i for i, g in enumerate(schema.DISCRETE_GROUPS)}
    discrete = {g: GroupAccuracy(ensemble=accuracy(probs, labels[:, group_index[g]]),
                                 aggregate=accuracy(aggregate_probs[g], labels[:, group_index[g]]))
                for g, probs in ensemble_probs.items()}

    aggregate, local = members[MEMBERS.index(AGGREGATE)], members[MEMBERS.index(LOCAL)]
    has_local = ~np.isnan(local).any(axis=0)

    def local_params_l1(predicted: np.ndarray) -> float:
        return float(np.abs(predicted - target)[:, has_local].mean()) if has_local.any() else float("nan")

    constant = {f"{w:.1f}": local_params_l1(w * aggregate + (1.0 - w) * local) for w in CONSTANT_WEIGHTS}
    constant["learned"] = local_params_l1(ensemble)
    return EnsembleMetrics(samples=len(target), regions=regions, discrete=discrete, constant_weights=constant)
