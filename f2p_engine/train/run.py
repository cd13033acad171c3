"""Training the whole ensemble: aggregate + local CNNs + identity member -> ONNX files + fitted weights.

`train_ensemble` splits the dataset once (seeded) into a training part and a holdout; trains
every CNN on the training part (`loop.train_model`, resumable per model) and the identity member
on the training part's descriptors (`identity.train_identity`, seconds); exports each to ONNX;
predicts the holdout and fits the per-parameter member weights on it in closed form
(`ensemble.fit_member_weights`); and returns everything the model manifest needs. The holdout
numbers it reports are optimistic (the weights were fitted on them): `f2p evaluate` on a set
generated with another seed is the real test.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from f2p_engine.ensemble import (
    AGGREGATE,
    IDENTITY,
    EnsembleMetrics,
    combine_members,
    ensemble_metrics,
    fit_member_weights,
    member_predictions,
    model_member,
    softmax,
    stack_members,
)
from f2p_engine.files import atomic_output
from f2p_engine.headmodel import schema
from f2p_engine.infer.manifest import Calibration
from f2p_engine.nets.spec import DESCRIPTOR_INPUT, FACE
from f2p_engine.synth.reader import SampleSource
from f2p_engine.train.data import CropDataset, Subset, split_indices, targets_of
from f2p_engine.train.export import export_onnx
from f2p_engine.train.identity import IdentityConfig, descriptors_of, train_identity
from f2p_engine.train.loop import LOG_CSV, TrainConfig, predict, train_model

ENSEMBLE_JSON = "ensemble_config.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class EnsembleConfig:
    """The aggregate model's config, one config template for every local model (its crop is set
    per region), the regions with local models, the identity member's config, and the holdout split."""

    aggregate: TrainConfig = field(default_factory=lambda: TrainConfig(input_size=64, finetune_epochs=12))
    local: TrainConfig = field(default_factory=TrainConfig)
    regions: tuple[str, ...] = schema.LOCAL_REGIONS
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    holdout_fraction: float = 0.1
    split_seed: int = 0

    def members(self) -> dict[str, TrainConfig]:
        """Model name ("aggregate" or a region) -> its training config."""
        return {AGGREGATE: replace(self.aggregate, crop=FACE),
                **{region: replace(self.local, crop=region) for region in self.regions}}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnsembleConfig:
        return cls(aggregate=TrainConfig(**data["aggregate"]), local=TrainConfig(**data["local"]),
                   regions=tuple(data["regions"]), identity=IdentityConfig.from_dict(data.get("identity", {})),
                   holdout_fraction=float(data["holdout_fraction"]), split_seed=int(data["split_seed"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class EnsembleResult:
    """Trained models (eval mode, by model name: "aggregate", regions, "identity") and their ONNX
    files, the fitted weights (per parameter / group, one per member in `ensemble.MEMBERS` order),
    calibration for confidences, holdout metrics and the training records (`transfer`: feature
    extraction vs fine-tuning per model; `identity`: the identity regressor's fit), as JSON."""

    nets: dict[str, nn.Module] = field(repr=False)
    onnx_files: dict[str, Path]
    continuous_weights: dict[str, list[float]]
    group_weights: dict[str, list[float]]
    calibration: Calibration
    metrics: EnsembleMetrics
    records: dict[str, Any]


def train_ensemble(config: EnsembleConfig, source: SampleSource, out_dir: str | os.PathLike[str],
                   progress: Callable[[str], None] | None = None) -> EnsembleResult:
    """Train every member into `out_dir/<name>/`, export to `out_dir/models/<name>.onnx`, fit the ensemble."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_output(out / ENSEMBLE_JSON) as tmp:
        tmp.write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    train_idx, holdout_idx = split_indices(len(source), config.holdout_fraction, config.split_seed)
    train, holdout = Subset(source, train_idx), Subset(source, holdout_idx)
    train_target, _ = targets_of(train)
    target, labels = targets_of(holdout)

    nets, files, outputs = {}, {}, {}
    for name, member in config.members().items():
        net = train_model(member, train, holdout, out / name, progress)
        loader = DataLoader(CropDataset(holdout, net.preprocessing, net.layout), batch_size=64)
        outputs[name], _, _ = predict(net, loader)
        example = next(iter(loader))[0][:2]
        files[name] = out / "models" / f"{name}.onnx"
        export_onnx(net, files[name], example)
        nets[name] = net

    descriptors = descriptors_of(holdout)
    nets[IDENTITY], identity_record = train_identity(config.identity, descriptors_of(train), train_target)
    with torch.no_grad():
        outputs[IDENTITY] = [nets[IDENTITY](torch.from_numpy(descriptors)).numpy()]
    files[IDENTITY] = out / "models" / f"{IDENTITY}.onnx"
    export_onnx(nets[IDENTITY], files[IDENTITY], torch.from_numpy(descriptors[:2]), input_name=DESCRIPTOR_INPUT)
    if progress:
        progress(f"identity member ({identity_record['kind']})")

    members = member_predictions({n: o[0] for n, o in outputs.items()}, {n: net.layout for n, net in nets.items()})
    weights = fit_member_weights(members, target)
    group_probs: dict[str, dict[str, np.ndarray]] = {}
    for name, net in nets.items():
        for (group, _), logits in zip(net.layout.groups, outputs[name][1:], strict=True):
            group_probs.setdefault(group, {})[model_member(name)] = softmax(logits)
    group_index = {g.name: i for i, g in enumerate(schema.DISCRETE_GROUPS)}
    ensemble_probs, group_weights = {}, {}
    for group, probs in group_probs.items():
        options = next(iter(probs.values())).shape[1]
        one_hot = np.eye(options)[labels[:, group_index[group]]]
        flat = stack_members({m: p.reshape(-1, 1) for m, p in probs.items()}, one_hot.size, 1)
        group_weights[group] = fit_member_weights(flat, one_hot.reshape(-1, 1))[:, 0]
        ensemble_probs[group] = combine_members(flat, group_weights[group][:, None]).reshape(-1, options)

    train_mean = train_target.mean(axis=0)
    aggregate_probs = {g: p[AGGREGATE] for g, p in group_probs.items()}
    metrics = ensemble_metrics(target=target, labels=labels, members=members, weights=weights,
                               photo_weights=weights, train_mean=train_mean, aggregate_probs=aggregate_probs,
                               ensemble_probs=ensemble_probs)
    transfer = {name: transfer_summary(out / name / LOG_CSV) for name in config.members()}
    # The identity member is feature extraction by construction: dlib's ResNet stays frozen (it is
    # not a torch model here), only the regressor on its descriptor is fitted.
    transfer[IDENTITY] = {"feature_extraction_l1": identity_record["validation_l1"], "fine_tuning_l1": None}
    calibration = Calibration.from_metrics(
        metrics, {p.name: float(m) for p, m in zip(schema.CONTINUOUS, train_mean, strict=True)})
    names = [p.name for p in schema.CONTINUOUS]
    return EnsembleResult(nets=nets, onnx_files=files,
                          continuous_weights={n: weights[:, i].tolist() for i, n in enumerate(names)},
                          group_weights={g: w.tolist() for g, w in group_weights.items()},
                          calibration=calibration, metrics=metrics,
                          records={"transfer": transfer, "identity": identity_record})


def transfer_summary(log_csv: Path) -> dict[str, float | None]:
    """Mean validation slider L1 at the end of each training phase (feature extraction vs fine-tuning)."""
    with log_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    summary: dict[str, float | None] = {"feature_extraction_l1": None, "fine_tuning_l1": None}
    for key, phase in (("feature_extraction_l1", "features"), ("fine_tuning_l1", "finetune")):
        last = [r for r in rows if r["phase"] == phase][-1:]
        if last:
            summary[key] = float(np.mean([float(v) for k, v in last[0].items() if k.startswith("l1_")]))
    return summary

