"""Training one model: config, seeding, epochs, validation, resumable checkpoints, CSV log, loss curve.

`train_model` runs up to two phases for one `ParamNet`:
1. "features" (feature extraction): backbone frozen; its features are computed once per split
   and only the head (and the loss's adaptive weights) train, on the cached features.
2. "finetune": every weight trains on images, starting from phase 1's weights (or from scratch
   for a backbone without pretrained weights).
After every epoch it writes `checkpoint.pt` (plain dicts: `torch.load(weights_only=True)` works),
appends a row to `log.csv` and redraws `loss.png`; a rerun with the same config resumes.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from f2p_engine.ensemble import accuracy, region_l1
from f2p_engine.errors import InputError
from f2p_engine.files import atomic_output
from f2p_engine.nets.model import ParamNet
from f2p_engine.nets.registry import create_net, is_pretrainable
from f2p_engine.nets.spec import FACE, output_layout
from f2p_engine.plot import plot_curves
from f2p_engine.synth.reader import SampleSource
from f2p_engine.train.data import CropDataset, embed_dataset
from f2p_engine.train.distributed import SINGLE, RankBatches, Ranks, average_gradients, sum_over_ranks, wrap
from f2p_engine.train.loss import MultiPartLoss, SliderLoss

log = logging.getLogger(__name__)

Phase = Literal["features", "finetune"]
Forward = Callable[[torch.Tensor], tuple[torch.Tensor, ...]]
CHECKPOINT = "checkpoint.pt"
LOG_CSV = "log.csv"
LOSS_PNG = "loss.png"
CONFIG_JSON = "config.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainConfig:
    """Everything that defines the training of one model (dumped as config.json beside its outputs)."""

    # Defaults: the measured best on this project's 2-core budget (scripts/ensemble_config.json):
    # a small net from scratch; frozen ImageNet features measured useless for the sliders.
    net: str = "smallcnn16"
    crop: str = FACE
    input_size: int = 48
    pool: int = 1
    hidden: int = 256
    dropout: float = 0.1
    pretrained: bool = False
    #: Head-only epochs on cached frozen-backbone features (0 for a net trained from scratch).
    feature_epochs: int = 0
    #: Full-network epochs after the feature phase (the classifier branch trains only here).
    finetune_epochs: int = 8
    batch_size: int = 32
    feature_lr: float = 2e-3
    finetune_lr: float = 2e-3
    weight_decay: float = 1e-4
    slider_loss: SliderLoss = "l2"
    adaptive_weights: bool = False
    #: Fixed factor on every cross-entropy term (see `loss.MultiPartLoss`).
    discrete_weight: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.feature_epochs and not (self.pretrained and is_pretrainable(self.net)):
            raise ValueError(f"{self.net}: feature extraction needs a pretrained backbone; "
                             "set feature_epochs=0 to train it from scratch")

    def net_kwargs(self) -> dict[str, Any]:
        return {"crop": self.crop, "input_size": self.input_size, "pool": self.pool, "hidden": self.hidden,
                "dropout": self.dropout}

    def phases(self) -> list[tuple[Phase, int]]:
        """(phase, first epoch index) of each phase; epochs are numbered across phases."""
        return [("features", 0), ("finetune", self.feature_epochs)]

    @property
    def total_epochs(self) -> int:
        return self.feature_epochs + self.finetune_epochs


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (the one place that does)."""
    random.seed(seed)
    np.random.seed(seed)  # third-party code may still draw from the global state
    torch.manual_seed(seed)


def train_one_epoch(forward: Forward, loss_fn: MultiPartLoss, loader: Iterable, optimiser: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None, ranks: Ranks = SINGLE) -> float:
    """One pass over `loader` ((inputs, continuous, discrete) batches), stepping `scheduler` per batch;
    returns the mean total loss (over every rank's samples when training over several processes)."""
    total, count = 0.0, 0
    for inputs, continuous, discrete in loader:
        loss, _ = loss_fn(forward(inputs), continuous, discrete)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(loss_fn, ranks)  # DDP averages the net's; the loss's own weights are ours to average
        optimiser.step()
        if scheduler is not None:
            scheduler.step()
        total += float(loss.detach()) * len(inputs)
        count += len(inputs)
    total, count = sum_over_ranks(total, count, ranks=ranks)
    return total / max(count, 1)


@torch.no_grad()
def predict(forward: Forward, loader: Iterable) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Outputs and targets over `loader`: ([continuous (N, P), *logits (N, K)], continuous, discrete)."""
    outputs: list[list[np.ndarray]] = []
    continuous, discrete = [], []
    for inputs, cont, disc in loader:
        outputs.append([o.numpy() for o in forward(inputs)])
        continuous.append(cont.numpy())
        discrete.append(disc.numpy())
    return ([np.concatenate(parts) for parts in zip(*outputs, strict=True)],
            np.concatenate(continuous), np.concatenate(discrete))


@torch.no_grad()
def validate(forward: Forward, loss_fn: MultiPartLoss, loader: Iterable, params: tuple[str, ...]
             ) -> dict[str, float]:
    """Validation metrics: `loss` (total), `l1_<region>` (normalised units), `acc_<group>`."""
    outputs, continuous, discrete = predict(forward, loader)
    loss, _ = loss_fn(tuple(torch.from_numpy(o) for o in outputs), torch.from_numpy(continuous),
                      torch.from_numpy(discrete))
    metrics = {"loss": float(loss)}
    metrics.update({f"l1_{r}": v for r, v in region_l1(outputs[0], continuous, params).items()})
    metrics.update({f"acc_{loss_fn.groups[i]}": accuracy(logits, discrete[:, i])
                    for i, logits in enumerate(outputs[1:])})
    return metrics


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write a checkpoint of plain dicts, tensors and numbers atomically."""
    with atomic_output(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def net_from_checkpoint(state: dict[str, Any]) -> ParamNet:
    """The trained `ParamNet` stored in a checkpoint (eval mode)."""
    net = create_net(**state["net"])
    net.load_state_dict(state["model"])
    return net.eval()


def _loader(dataset: Dataset, batch_size: int, shuffle: bool, seed: int, ranks: Ranks = SINGLE) -> DataLoader:
    """Batches of `dataset` (this rank's slices of them when training over several processes)."""
    return DataLoader(dataset, batch_sampler=RankBatches(len(dataset), batch_size, shuffle=shuffle, seed=seed,
                                                         ranks=ranks))


def _optimiser(net: ParamNet, loss_fn: MultiPartLoss, phase: Phase, config: TrainConfig) -> torch.optim.Optimizer:
    module = net.head if phase == "features" else net
    lr = config.feature_lr if phase == "features" else config.finetune_lr
    params = [p for p in module.parameters() if p.requires_grad]
    return torch.optim.AdamW([{"params": params}, {"params": loss_fn.parameters(), "weight_decay": 0.0}],
                             lr=lr, weight_decay=config.weight_decay)


def _append_csv(path: Path, row: dict[str, Any]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def train_model(config: TrainConfig, train_source: SampleSource, val_source: SampleSource,
                out_dir: str | os.PathLike[str], progress: Callable[[str], None] | None = None,
                ranks: Ranks = SINGLE) -> ParamNet:
    """Train one model as `config` says; outputs and checkpoints go to `out_dir`. Returns the net (eval mode).

    Resumes from `out_dir/checkpoint.pt` when its config equals `config`; refuses (InputError)
    to resume a different config in the same folder. Over several processes (`ranks`), each trains
    on its slice of every batch (`distributed`); only rank 0 validates and writes.
    """
    if output_layout(config.crop).groups and not config.finetune_epochs:
        raise InputError(f"{config.crop}: its discrete groups (classifier branch) train in the fine-tuning "
                         "phase; set finetune_epochs >= 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] | None = None
    if (out / CHECKPOINT).exists():
        state = load_checkpoint(out / CHECKPOINT)
        if state["config"] != asdict(config):
            raise InputError(f"{out}: holds a checkpoint of another config; use a new folder")
    seed_everything(config.seed)
    net = create_net(config.net, pretrained=config.pretrained and state is None, **config.net_kwargs())
    loss_fn = MultiPartLoss(net.layout, config.slider_loss, config.adaptive_weights, config.discrete_weight)
    if ranks.is_main:
        with atomic_output(out / CONFIG_JSON) as tmp:
            tmp.write_text(json.dumps(asdict(config), indent=2) + "\n")
    start = 0
    if state is not None:
        net.load_state_dict(state["model"])
        loss_fn.load_state_dict(state["loss"])
        start = int(state["epoch"]) + 1

    train_set = CropDataset(train_source, net.preprocessing, net.layout)
    val_set = CropDataset(val_source, net.preprocessing, net.layout)
    for phase, first in config.phases():
        last = first + (config.feature_epochs if phase == "features" else config.finetune_epochs)
        if start >= last:
            continue
        net.set_transfer_mode("feature_extraction" if phase == "features" else "fine_tuning")
        if phase == "features":
            head = wrap(net.head, ranks)

            def forward(features: torch.Tensor, head: nn.Module = head) -> tuple[torch.Tensor, ...]:
                return (head(features),)

            def evaluate(features: torch.Tensor) -> tuple[torch.Tensor, ...]:
                return (net.head(features),)
            # Only rank 0 validates: other ranks skip embedding the validation set.
            train_data = embed_dataset(net, train_set)
            val_data = embed_dataset(net, val_set) if ranks.is_main else None
        else:
            forward, evaluate, train_data, val_data = wrap(net, ranks), net, train_set, val_set
        optimiser = _optimiser(net, loss_fn, phase, config)
        # One-cycle schedule over the phase: warm-up then cosine decay (regression from scratch
        # measured to need it; a constant rate plateaus at the mean prediction for many epochs).
        batches = len(RankBatches(len(train_data), config.batch_size, shuffle=True, seed=0, ranks=ranks))
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=[g["lr"] for g in optimiser.param_groups],
                                                        total_steps=max(1, (last - first) * batches))
        if state is not None and state["phase"] == phase:
            optimiser.load_state_dict(state["optimiser"])
            scheduler.load_state_dict(state["scheduler"])
        for epoch in range(max(start, first), last):
            began = time.perf_counter()
            net.train()
            train_loss = train_one_epoch(forward, loss_fn, _loader(train_data, config.batch_size, True,
                                                                   config.seed + epoch, ranks), optimiser, scheduler,
                                         ranks)
            net.eval()
            if not ranks.is_main:
                continue
            metrics = validate(evaluate, loss_fn, _loader(val_data, 256, False, 0), net.layout.params)
            row = {"epoch": epoch, "phase": phase, "train_loss": train_loss,
                   **{f"val_{k}" if k == "loss" else k: v for k, v in metrics.items()},
                   "seconds": time.perf_counter() - began}
            _append_csv(out / LOG_CSV, row)
            save_checkpoint(out / CHECKPOINT, {
                "config": asdict(config), "net": net.config, "epoch": epoch, "phase": phase,
                "model": net.state_dict(), "loss": loss_fn.state_dict(), "optimiser": optimiser.state_dict(),
                "scheduler": scheduler.state_dict()})
            plot_curves(out / LOG_CSV, out / LOSS_PNG, title=f"{config.crop} ({config.net})")
            if progress:
                progress(f"{config.crop} {phase} epoch {epoch + 1}/{config.total_epochs}: train {train_loss:.4f} "
                         f"val {metrics['loss']:.4f}")
    return net.eval()
