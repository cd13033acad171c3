"""The model manifest: which ONNX files make the ensemble, their sha256, preprocessing and weights.

`resources/models/manifest.json` (format `f2p-models-2`):

    {"format": "f2p-models-2", "schema_version": 2,
     "data": {"seed": 1, "size": 2000, ...},            # the training data, for reproducibility
     "models": [{"name": "aggregate" | REGION | "identity", "file": "aggregate.onnx", "sha256": "...",
                 "net": "smallcnn16", "preprocessing": {...} | null, "params": [...], "groups": [[name, k], ...]}],
     "ensemble": {"members": ["aggregate", "local", "identity"],
                  "continuous": {PARAM: [w per member]},   # fitted on held-out renders
                  "discrete": {GROUP: [w per member]},
                  "photo_shift": {REGION: a},              # toward the identity member, chosen on photos
                  "photo_spread": {PARAM: [centre, scale, target]}},  # photos' de-shrinking, chosen on photos
     "calibration": {"baseline_l1": {REGION: x}, "ensemble_l1": {REGION: x}, "train_mean": {PARAM: x}},
     "metrics": {...}}                                   # held-out results (see f2p evaluate)

Image models (the aggregate on the whole aligned face, one local model per region on its crop)
have a preprocessing spec; the identity model has none: its input is the face's identity
descriptor (`face.identity.face_descriptor`). The ensemble's members and weights: `f2p_engine.ensemble`.

A model folder is a user's input (`--models`) and is checked on load, every problem an AssetError
naming the file: `manifest.sha256` (written next to the manifest by `write_manifest`) must match
the manifest's bytes; the manifest's structure and types; every file a plain name inside the
folder; weights, shifts and statistics finite (std > 0, baseline L1 > 0); parameter and group
names from the schema; every model file's sha256. That each ONNX file loads and its inputs and
outputs have the sizes the manifest says is checked when the sessions open (`infer.pipeline`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from f2p_engine.ensemble import (
    AGGREGATE,
    IDENTITY,
    LOCAL,
    MAX_PHOTO_SPREAD,
    MEMBERS,
    EnsembleMetrics,
    model_member,
)
from f2p_engine.errors import AssetError
from f2p_engine.files import atomic_output, checked_sha256, resources_dir, sha256_file
from f2p_engine.headmodel import schema
from f2p_engine.nets.spec import CROPS, FACE, OutputLayout, Preprocessing

FORMAT = "f2p-models-2"
MANIFEST = "manifest.json"
#: sha256 of manifest.json's bytes, `sha256sum` format: the manifest's own checksum.
CHECKSUM = "manifest.sha256"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class _Malformed(ValueError):
    """A manifest value of the wrong type or out of range (`load_manifest` names the file)."""


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed(f"{where} is {type(value).__name__}, expected an object")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Malformed(f"{where} is {type(value).__name__}, expected a list")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _Malformed(f"{where} is {type(value).__name__}, expected a string")
    return value


def _finite(value: object, where: str, low: float = -math.inf, high: float = math.inf) -> float:
    number = float(value) if isinstance(value, float) or (isinstance(value, int) and abs(value) < 2**1000) else None
    if isinstance(value, bool) or number is None or not math.isfinite(number) or not low <= number <= high:
        bounds = f" in [{low:g}, {high:g}]" if math.isfinite(low) or math.isfinite(high) else ""
        raise _Malformed(f"{where} must be a finite number{bounds}, got {value!r:.40}")
    return number


def _get(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise _Malformed(f"{where}{key} is missing")
    return data[key]


def _numbers_by_name(value: object, where: str, names: Sequence[str], *, length: int | None = None,
                     low: float = -math.inf, high: float = math.inf) -> dict[str, Any]:
    """name -> finite number (or list of `length` finite numbers), every name one of `names`."""
    result: dict[str, Any] = {}
    for name, item in _object(value, where).items():
        if name not in names:
            raise _Malformed(f"{where}: unknown name {name!r:.60}")
        if length is None:
            result[name] = _finite(item, f"{where}[{name!r}]", low, high)
        else:
            items = _list(item, f"{where}[{name!r}]")
            if len(items) != length:
                raise _Malformed(f"{where}[{name!r}] holds {len(items)} numbers, expected {length}")
            result[name] = tuple(_finite(v, f"{where}[{name!r}]", low, high) for v in items)
    return result


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """Held-out statistics inference reads: `baseline_l1` region -> L1 of predicting the training mean
    (> 0), `ensemble_l1` region -> the ensemble's L1 (a region without one counts as no better than
    the baseline), `train_mean` parameter -> training-set mean in [0, 1] (the baseline itself)."""

    baseline_l1: Mapping[str, float]
    ensemble_l1: Mapping[str, float] = field(default_factory=dict)
    train_mean: Mapping[str, float] = field(default_factory=dict)

    def skill(self, region: str) -> float:
        """1 - ensemble L1 / baseline L1, clipped to [0, 1] (0: no better than guessing the mean)."""
        baseline = self.baseline_l1[region]
        return min(1.0, max(0.0, 1.0 - self.ensemble_l1.get(region, baseline) / baseline))

    def to_json(self) -> dict[str, dict[str, float]]:
        return {"baseline_l1": dict(self.baseline_l1), "ensemble_l1": dict(self.ensemble_l1),
                "train_mean": dict(self.train_mean)}

    @classmethod
    def from_json(cls, data: object) -> Calibration:
        """ValueError naming the key when `data` is not what `to_json` writes."""
        data = _object(data, "calibration")
        regions, params = schema.REGIONS, [p.name for p in schema.CONTINUOUS]
        return cls(baseline_l1=_numbers_by_name(_get(data, "baseline_l1", "calibration."), "calibration.baseline_l1",
                                                regions, low=1e-12),
                   ensemble_l1=_numbers_by_name(data.get("ensemble_l1", {}), "calibration.ensemble_l1", regions, low=0),
                   train_mean=_numbers_by_name(data.get("train_mean", {}), "calibration.train_mean", params, low=0,
                                              high=1))

    @classmethod
    def from_metrics(cls, metrics: EnsembleMetrics, train_mean: Mapping[str, float]) -> Calibration:
        """The calibration of a freshly fitted ensemble from its held-out metrics."""
        return cls(baseline_l1={r: e.baseline for r, e in metrics.regions.items()},
                   ensemble_l1={r: e.ensemble for r, e in metrics.regions.items()}, train_mean=dict(train_mean))


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
    def from_dict(cls, data: object, where: str = "model") -> ModelEntry:
        """ValueError naming the key when `data` is not what `to_dict` writes (names from the schema,
        a plain file name, finite preprocessing statistics with std > 0)."""
        data = _object(data, where)
        name = _text(_get(data, "name", f"{where}."), f"{where}.name")
        where = f"model {name!r:.40}"
        file = _text(_get(data, "file", f"{where}."), f"{where}.file")
        # A plain name inside the folder, short enough for any file system (NAME_MAX 255 bytes).
        if not file or Path(file).name != file or file in (".", "..") or len(file.encode(errors="replace")) > 255:
            raise _Malformed(f"{where}: file {file!r:.60} must be a file name inside the model folder")
        sha256 = _text(_get(data, "sha256", f"{where}."), f"{where}.sha256")
        if not _HEX64.match(sha256):
            raise _Malformed(f"{where}: sha256 is not 64 hex digits")
        known = [p.name for p in schema.CONTINUOUS]
        params = [_text(p, f"{where}.params") for p in _list(_get(data, "params", f"{where}."), f"{where}.params")]
        unknown = [p for p in params if p not in known]
        if unknown or len(set(params)) != len(params) or not params:
            raise _Malformed(f"{where}: params must be distinct schema parameters (unknown: {unknown[:3]})")
        groups = []
        counts = {g.name: (len(g.options), *g.earlier_counts) for g in schema.DISCRETE_GROUPS}
        for group in _list(_get(data, "groups", f"{where}."), f"{where}.groups"):
            group = _list(group, f"{where}.groups")
            # A model from an earlier schema predicts the first k options of a group that grew since.
            if len(group) != 2 or not isinstance(group[0], str) or group[0] not in counts \
                    or group[1] not in counts[group[0]] or isinstance(group[1], bool):
                raise _Malformed(f"{where}: group {group!r:.60} is not [name, option count] of a schema group")
            groups.append((str(group[0]), int(group[1])))
        spec = _get(data, "preprocessing", f"{where}.")
        return cls(name=name, file=file, sha256=sha256, net=_text(_get(data, "net", f"{where}."), f"{where}.net"),
                   preprocessing=None if spec is None else _preprocessing(spec, f"{where}.preprocessing"),
                   layout=OutputLayout(params=tuple(params), groups=tuple(groups)))


def _preprocessing(data: object, where: str) -> Preprocessing:
    data = _object(data, where)
    crop = _get(data, "crop", f"{where}.")
    if crop not in CROPS:
        raise _Malformed(f"{where}.crop {crop!r:.40} is not one of {', '.join(CROPS)}")
    sides = [_finite(_get(data, k, f"{where}."), f"{where}.{k}", 8, 1024) for k in ("height", "width")]
    if any(side != int(side) for side in sides):
        raise _Malformed(f"{where}: height and width must be integers")
    mean, std = (_list(_get(data, k, f"{where}."), f"{where}.{k}") for k in ("mean", "std"))
    if len(mean) != 3 or len(std) != 3:
        raise _Malformed(f"{where}: mean and std need 3 values each")
    m = [_finite(v, f"{where}.mean") for v in mean]
    d = [_finite(v, f"{where}.std", low=1e-6) for v in std]
    return Preprocessing(crop=crop, height=int(sides[0]), width=int(sides[1]), mean=(m[0], m[1], m[2]),
                         std=(d[0], d[1], d[2]))


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelManifest:
    """A verified model set. `continuous_weights`: param -> one weight per member (`ensemble.MEMBERS`
    order), fitted on renders; `group_weights` likewise per discrete group; `photo_shift`: region ->
    how far its parameters' weights move toward the identity member for photos (0..1); `photo_spread`:
    param -> (centre, scale, target) of `ensemble.widen` for photos (parameters not named are not widened);
    `calibration`: held-out statistics; `data` (the training data) and `metrics` (held-out results
    and training records) as stored, for people and reports."""

    directory: Path
    models: tuple[ModelEntry, ...]
    continuous_weights: Mapping[str, Sequence[float]]
    group_weights: Mapping[str, Sequence[float]]
    photo_shift: Mapping[str, float]
    calibration: Calibration
    photo_spread: Mapping[str, Sequence[float]] = field(default_factory=dict)
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
                   calibration: Calibration, data: Mapping[str, Any],
                   metrics: Mapping[str, Any], photo_shift: Mapping[str, float] | None = None,
                   photo_spread: Mapping[str, Sequence[float]] | None = None) -> Path:
    """Write `directory/manifest.json` for model files already in `directory`, hashing each file now,
    and its checksum `manifest.sha256`."""
    directory = Path(directory)
    hashed = [ModelEntry(name=m.name, file=m.file, sha256=sha256_file(directory / m.file), net=m.net,
                         preprocessing=m.preprocessing, layout=m.layout) for m in models]
    document = {"format": FORMAT, "schema_version": schema.SCHEMA_VERSION, "data": dict(data),
                "models": [m.to_dict() for m in hashed],
                "ensemble": {"members": list(MEMBERS),
                             "continuous": {k: [float(w) for w in v] for k, v in continuous_weights.items()},
                             "discrete": {k: [float(w) for w in v] for k, v in group_weights.items()},
                             "photo_shift": {k: float(v) for k, v in (photo_shift or {}).items()},
                             "photo_spread": {k: [float(x) for x in v] for k, v in (photo_spread or {}).items()}},
                "calibration": calibration.to_json(), "metrics": dict(metrics)}
    path = directory / MANIFEST
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(document, indent=2) + "\n")
    seal_manifest(directory)
    return path


def seal_manifest(directory: str | os.PathLike[str]) -> Path:
    """(Re)write `directory/manifest.sha256` for the manifest as it is now; returns its path."""
    path = Path(directory) / CHECKSUM
    with atomic_output(path) as tmp:
        tmp.write_text(f"{sha256_file(Path(directory) / MANIFEST)}  {MANIFEST}\n")
    return path


def _read_document(path: Path) -> dict[str, Any]:
    """The manifest's JSON object, after checking its bytes against `manifest.sha256`."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise AssetError(f"{path}: no model manifest; train models with `f2p train` or reinstall f2p") from None
    except OSError as exc:
        raise AssetError(f"{path}: unreadable model manifest ({exc.strerror})") from None
    checksum = path.with_name(CHECKSUM)
    try:
        expected = checksum.read_text(errors="replace").split()[:1]
    except OSError:
        raise AssetError(f"{checksum}: missing or unreadable, so {path.name} cannot be verified; reinstall f2p "
                         "or rewrite it with `f2p train`") from None
    if expected != [hashlib.sha256(raw).hexdigest()]:
        raise AssetError(f"{path}: does not match its checksum {CHECKSUM} (modified or corrupted); reinstall f2p "
                         "or retrain with `f2p train`")
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise AssetError(f"{path}: unreadable model manifest ({str(exc)[:80]})") from None
    if not isinstance(document, dict):
        raise AssetError(f"{path}: malformed model manifest (a {type(document).__name__}, expected an object)")
    return document


def load_manifest(directory: str | os.PathLike[str] | None = None) -> ModelManifest:
    """Read and verify the manifest in `directory` (default: the shipped models).

    Raises AssetError when the manifest is missing or malformed, written for another parameter
    schema, or when a model file is missing or its sha256 does not match.
    """
    directory = Path(directory) if directory is not None else models_dir()
    path = directory / MANIFEST
    document = _read_document(path)
    if document.get("format") != FORMAT:
        raise AssetError(f"{path}: unknown manifest format {str(document.get('format'))[:40]!r} (expected {FORMAT})")
    if document.get("schema_version") != schema.SCHEMA_VERSION:
        raise AssetError(f"{path}: models were trained for parameter schema "
                         f"{str(document.get('schema_version'))[:20]}, this f2p uses schema {schema.SCHEMA_VERSION}; "
                         "retrain or reinstall the models")
    try:
        manifest = _manifest(document, directory)
    except _Malformed as exc:
        raise AssetError(f"{path}: malformed model manifest ({exc})") from None
    _check_models(manifest, path)
    return manifest


def _manifest(document: dict[str, Any], directory: Path) -> ModelManifest:
    models = tuple(ModelEntry.from_dict(m) for m in _list(_get(document, "models", ""), "models"))
    ensemble = _object(_get(document, "ensemble", ""), "ensemble")
    if _get(ensemble, "members", "ensemble.") != list(MEMBERS):
        raise _Malformed(f"ensemble.members must be {list(MEMBERS)}")
    params, groups = [p.name for p in schema.CONTINUOUS], [g.name for g in schema.DISCRETE_GROUPS]
    return ModelManifest(
        directory=directory, models=models,
        continuous_weights=_numbers_by_name(_get(ensemble, "continuous", "ensemble."), "ensemble.continuous", params,
                                            length=len(MEMBERS)),
        group_weights=_numbers_by_name(_get(ensemble, "discrete", "ensemble."), "ensemble.discrete", groups,
                                       length=len(MEMBERS)),
        photo_shift=_numbers_by_name(ensemble.get("photo_shift", {}), "ensemble.photo_shift", schema.REGIONS,
                                     low=0.0, high=1.0),
        photo_spread=_photo_spread(ensemble.get("photo_spread", {}), params),
        calibration=Calibration.from_json(_get(document, "calibration", "")),
        data=_object(document.get("data", {}), "data"), metrics=_object(document.get("metrics", {}), "metrics"))


def _photo_spread(value: object, params: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """param -> (centre in [0, 1], scale in [1, MAX_PHOTO_SPREAD], target in [0, 1])."""
    spread = _numbers_by_name(value, "ensemble.photo_spread", params, length=3, low=0.0, high=MAX_PHOTO_SPREAD)
    for name, (centre, scale, target) in spread.items():
        if not (centre <= 1.0 and scale >= 1.0 and target <= 1.0):
            raise _Malformed(f"ensemble.photo_spread[{name!r}] must be [centre 0..1, scale 1..{MAX_PHOTO_SPREAD}, "
                             "target 0..1]")
    return spread


def _check_models(manifest: ModelManifest, path: Path) -> None:
    names = [m.name for m in manifest.models]
    if names.count(AGGREGATE) != 1 or len(set(names)) != len(names):
        raise AssetError(f"{path}: needs exactly one aggregate model and at most one model per region, "
                         f"got {str(names)[:200]}")
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
        actual = checked_sha256(file)
        if actual != entry.sha256:
            raise AssetError(f"{file}: sha256 {actual[:12]}... does not match the manifest ({entry.sha256[:12]}...); "
                             "the file was modified or corrupted: reinstall f2p or retrain with `f2p train`")
