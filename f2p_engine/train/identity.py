"""Training the identity member: descriptors (N, 128) + continuous targets (N, P) -> `IdentityNet`.

Two regressors, chosen by `IdentityConfig.kind`:
- "ridge": closed-form ridge regression on standardised descriptors; the penalty is chosen from
  `alphas` by L1 on a validation split of the training part, then refitted on all of it.
- "mlp": one hidden layer with dropout and weight decay, Adam, early stopping on the same
  validation split (the best epoch's weights are kept).
Either way the result is an `IdentityNet` (exported to ONNX like the image models) and its
validation L1 per alpha / epoch, for the record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import torch

from f2p_engine.face.identity import face_descriptor
from f2p_engine.headmodel import schema
from f2p_engine.nets.identity import IdentityNet
from f2p_engine.synth.reader import SampleSource
from f2p_engine.train.data import split_indices

IdentityKind = Literal["ridge", "mlp"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityConfig:
    """How the identity member is trained (part of the ensemble config)."""

    kind: IdentityKind = "ridge"
    alphas: tuple[float, ...] = (1.0, 10.0, 100.0, 1000.0)
    hidden: int = 256
    dropout: float = 0.3
    weight_decay: float = 1e-3
    lr: float = 1e-3
    max_epochs: int = 200
    patience: int = 15
    batch_size: int = 256
    validation_fraction: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("ridge", "mlp"):
            raise ValueError(f"unknown identity regressor {self.kind!r}; expected ridge or mlp")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IdentityConfig:
        return cls(**{**data, "alphas": tuple(float(a) for a in data.get("alphas", cls().alphas))})


def descriptors_of(source: SampleSource) -> np.ndarray:
    """(N, 128) float32 descriptors of every sample: stored ones where the sample has them (synthetic
    datasets), else computed from its image and landmarks (the same `face_descriptor`)."""
    rows = []
    for i in range(len(source)):
        sample = source[i]
        stored = getattr(sample, "descriptor", None)
        rows.append(stored if stored is not None else face_descriptor(sample.image, sample.landmarks))
    return np.asarray(rows, dtype=np.float32)


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(W (F, P), b (P,)) minimising |x W + b - y|^2 + alpha |W|^2 (x standardised, float64)."""
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    xc = x - x_mean
    weights = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - y_mean))
    return weights, y_mean - x_mean @ weights


def _standardised(net: IdentityNet, descriptors: np.ndarray) -> np.ndarray:
    mean, std = descriptors.mean(axis=0), descriptors.std(axis=0) + 1e-6
    net.mean.copy_(torch.from_numpy(mean.astype(np.float32)))
    net.std.copy_(torch.from_numpy(std.astype(np.float32)))
    return (descriptors.astype(np.float64) - mean) / std


def _l1(predicted: np.ndarray, target: np.ndarray) -> float:
    return float(np.abs(np.clip(predicted, 0.0, 1.0) - target).mean())


def train_identity(config: IdentityConfig, descriptors: np.ndarray, targets: np.ndarray
                   ) -> tuple[IdentityNet, dict[str, Any]]:
    """Fit the identity member on (N, 128) descriptors and (N, P) schema-ordered targets in [0, 1].

    Returns the net (eval mode) and a record: kind, the validation L1 of the chosen net, and the
    chosen alpha and every alpha's validation L1 (ridge) or the best epoch (mlp).
    """
    targets = np.asarray(targets, dtype=np.float64)
    params = tuple(p.name for p in schema.CONTINUOUS)
    fit_idx, val_idx = split_indices(len(descriptors), config.validation_fraction, config.seed)
    torch.manual_seed(config.seed)
    net = IdentityNet(params, hidden=config.hidden if config.kind == "mlp" else 0, dropout=config.dropout)
    x = _standardised(net, np.asarray(descriptors, dtype=np.float32))
    if config.kind == "ridge":
        scores = {}
        for alpha in config.alphas:
            weights, bias = _ridge(x[fit_idx], targets[fit_idx], alpha)
            scores[alpha] = _l1(x[val_idx] @ weights + bias, targets[val_idx])
        best = min(scores, key=scores.__getitem__)
        weights, bias = _ridge(x, targets, best)
        with torch.no_grad():
            net.body.weight.copy_(torch.from_numpy(weights.T.astype(np.float32)))
            net.body.bias.copy_(torch.from_numpy(bias.astype(np.float32)))
        record = {"kind": "ridge", "alpha": best, "validation_l1": scores[best],
                  "validation_l1_by_alpha": {str(a): s for a, s in scores.items()}}
        return net.eval(), record
    return _train_mlp(net, config, x, targets, fit_idx, val_idx)


def _train_mlp(net: IdentityNet, config: IdentityConfig, x: np.ndarray, targets: np.ndarray,
               fit_idx: np.ndarray, val_idx: np.ndarray) -> tuple[IdentityNet, dict[str, Any]]:
    """Adam on L2 loss with early stopping on the validation L1 (inputs already standardised)."""
    inputs = torch.from_numpy(x.astype(np.float32))
    goal = torch.from_numpy(targets.astype(np.float32))
    optimiser = torch.optim.AdamW(net.body.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    fit = torch.from_numpy(fit_idx)
    best_l1, best_epoch, best_state = np.inf, -1, None
    for epoch in range(config.max_epochs):
        net.train()
        for batch in fit[torch.randperm(len(fit), generator=generator)].split(config.batch_size):
            loss = torch.mean((net.head(inputs[batch]) - goal[batch]) ** 2)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        net.eval()
        with torch.no_grad():
            l1 = _l1(net.head(inputs[val_idx]).numpy(), targets[val_idx])
        if l1 < best_l1:
            best_l1, best_epoch = l1, epoch
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        elif epoch - best_epoch >= config.patience:
            break
    net.load_state_dict(best_state)
    return net.eval(), {"kind": "mlp", "best_epoch": best_epoch, "validation_l1": best_l1}
