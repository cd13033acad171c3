"""The model manifest: which ONNX files make the ensemble, their sha256, preprocessing and weights.

`resources/models/manifest.json` (format `f2p-models-2`):

    {"format": "f2p-models-2", "schema_version": 2,
     "data": {"seed": 1, "size": 2000, ...},            # the training data, for reproducibility
     "models": [{"name": "aggregate" | REGION | "identity", "file": "aggregate.onnx", "sha256": "...",
                 "net": "smallcnn16", "preprocessing": {...} | null, "params": [...], "groups": [[name, k], ...]}],
     "ensemble": {"members": ["aggregate", "local", "identity"],
                  "continuous": {PARAM: [w per member]},   # fitted on held-out renders
                  "discrete": {GROUP: [w per member]},
                  "photo_shift": {REGION: a}},             # toward the identity member, chosen on photos
     "calibration": {"baseline_l1": {REGION: x}, "ensemble_l1": {REGION: x}, "train_mean": {PARAM: x}},
     "metrics": {...}}                                   # held-out results (see f2p evaluate)

Image models (the aggregate on the whole aligned face, one local model per region on its crop)
have a preprocessing spec; the identity model has none: its input is the face's identity
descriptor (`face.identity.face_descriptor`). The ensemble's members and weights: `f2p_engine.ensemble`.

Every file's sha256 is checked on load; a mismatch, a missing file or another schema version is
an AssetError that says what to do, never a silently wrong prediction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from f2p_engine.ensemble import AGGREGATE, IDENTITY, LOCAL, MEMBERS, model_member
from f2p_engine.errors import AssetError
from f2p_engine.files import atomic_output, resources_dir, sha256_file
from f2p_engine.headmodel import schema
from f2p_engine.nets.spec import FACE, OutputLayout, Preprocessing

FORMAT = "f2p-models-2"
MANIFEST = "manifest.json"


def models_dir() -> Path:
    """Where the shipped models live: `resources/models/`."""
    return resources_dir() / "models"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelEntry:
    """One ONNX model of the ensemble. `name` is "aggregate", the local region it sees, or "identity";
    `preprocessing` is None for the identity model (its input is a descriptor, not an image)."""

    name: str
    file: str
    sha256: str
    net: str
    preprocessing: Preprocessing | None
    layout: OutputLayout

    @property
    def member(self) -> str:
        """The ensemble member this model belongs to (`ensemble.MEMBERS`)."""
        return model_member(self.name)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.file, "sha256": self.sha256, "net": self.net,
                "preprocessing": self.preprocessing.to_dict() if self.preprocessing else None,
                "params": list(self.layout.params), "groups": [list(g) for g in self.layout.groups]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelEntry:
        layout = OutputLayout(params=tuple(data["params"]), groups=tuple((str(n), int(k)) for n, k in data["groups"]))
        spec = data["preprocessing"]
        return cls(name=str(data["name"]), file=str(data["file"]), sha256=str(data["sha256"]), net=str(data["net"]),
                   preprocessing=Preprocessing.from_dict(spec) if spec is not None else None, layout=layout)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelManifest:
    """A verified model set. `continuous_weights`: param -> one weight per member (`ensemble.MEMBERS`
    order), fitted on renders; `group_weights` likewise per discrete group; `photo_shift`: region ->
    how far its parameters' weights move toward the identity member for photos (0..1);
    `calibration` and `metrics` as stored."""

    directory: Path
    models: tuple[ModelEntry, ...]
    continuous_weights: Mapping[str, Sequence[float]]
    group_weights: Mapping[str, Sequence[float]]
    photo_shift: Mapping[str, float]
    calibration: Mapping[str, Mapping[str, float]]
    data: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def aggregate(self) -> ModelEntry:
        return next(m for m in self.models if m.name == AGGREGATE)

    @property
    def local_models(self) -> tuple[ModelEntry, ...]:
        return tuple(m for m in self.models if m.member == LOCAL)

    def path(self, entry: ModelEntry) -> Path:
        return self.directory / entry.file


def write_manifest(directory: str | os.PathLike[str], models: Sequence[ModelEntry], *,
                   continuous_weights: Mapping[str, Sequence[float]], group_weights: Mapping[str, Sequence[float]],
                   calibration: Mapping[str, Mapping[str, float]], data: Mapping[str, Any],
                   metrics: Mapping[str, Any], photo_shift: Mapping[str, float] | None = None) -> Path:
    """Write `directory/manifest.json` for model files already in `directory`, hashing each file now."""
    directory = Path(directory)
    hashed = [ModelEntry(name=m.name, file=m.file, sha256=sha256_file(directory / m.file), net=m.net,
                         preprocessing=m.preprocessing, layout=m.layout) for m in models]
    document = {"format": FORMAT, "schema_version": schema.SCHEMA_VERSION, "data": dict(data),
                "models": [m.to_dict() for m in hashed],
                "ensemble": {"members": list(MEMBERS),
                             "continuous": {k: [float(w) for w in v] for k, v in continuous_weights.items()},
                             "discrete": {k: [float(w) for w in v] for k, v in group_weights.items()},
                             "photo_shift": {k: float(v) for k, v in (photo_shift or {}).items()}},
                "calibration": {k: dict(v) for k, v in calibration.items()}, "metrics": dict(metrics)}
    path = directory / MANIFEST
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(document, indent=2) + "\n")
    return path


def load_manifest(directory: str | os.PathLike[str] | None = None) -> ModelManifest:
    """Read and verify the manifest in `directory` (default: the shipped models).

    Raises AssetError when the manifest is missing or malformed, written for another parameter
    schema, or when a model file is missing or its sha256 does not match.
    """
    directory = Path(directory) if directory is not None else models_dir()
    path = directory / MANIFEST
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise AssetError(f"{path}: no model manifest; train models with `f2p train` or reinstall f2p") from None
    except (OSError, ValueError) as exc:
        raise AssetError(f"{path}: unreadable model manifest ({exc})") from None
    if document.get("format") != FORMAT:
        raise AssetError(f"{path}: unknown manifest format {document.get('format')!r} (expected {FORMAT})")
    if document.get("schema_version") != schema.SCHEMA_VERSION:
        raise AssetError(f"{path}: models were trained for parameter schema {document.get('schema_version')}, "
                         f"this f2p uses schema {schema.SCHEMA_VERSION}; retrain or reinstall the models")
    try:
        models = tuple(ModelEntry.from_dict(m) for m in document["models"])
        ensemble = document["ensemble"]
        if ensemble["members"] != list(MEMBERS):
            raise ValueError(f"ensemble members {ensemble['members']}, expected {list(MEMBERS)}")
        manifest = ModelManifest(directory=directory, models=models, continuous_weights=ensemble["continuous"],
                                 group_weights=ensemble["discrete"], photo_shift=ensemble["photo_shift"],
                                 calibration=document["calibration"],
                                 data=document.get("data", {}), metrics=document.get("metrics", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise AssetError(f"{path}: malformed model manifest ({exc!r})") from None
    _check_models(manifest, path)
    return manifest


def _check_models(manifest: ModelManifest, path: Path) -> None:
    names = [m.name for m in manifest.models]
    if names.count(AGGREGATE) != 1 or len(set(names)) != len(names):
        raise AssetError(f"{path}: needs exactly one aggregate model and at most one model per region, got {names}")
    known = schema.continuous_by_name()
    for entry in manifest.models:
        expected_crop = {AGGREGATE: FACE, IDENTITY: None}.get(entry.name, entry.name)
        crop = entry.preprocessing.crop if entry.preprocessing else None
        unknown = [p for p in entry.layout.params if p not in known]
        if crop != expected_crop or unknown:
            raise AssetError(f"{path}: model {entry.name!r} does not match the parameter schema "
                             f"(crop {crop!r}, unknown parameters {unknown})")
        file = manifest.path(entry)
        if not file.is_file():
            raise AssetError(f"{file}: model file is missing; reinstall f2p or retrain with `f2p train`")
        actual = sha256_file(file)
        if actual != entry.sha256:
            raise AssetError(f"{file}: sha256 {actual[:12]}... does not match the manifest ({entry.sha256[:12]}...); "
                             "the file was modified or corrupted: reinstall f2p or retrain with `f2p train`")
