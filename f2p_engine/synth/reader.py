"""Synthetic dataset reader (numpy only): a dataset folder -> validated manifest, shard arrays, samples.

The layout is written by `synth.dataset.generate` (its module docstring describes it). A dataset is
checked when it is opened, so a broken one fails at once with one line naming the file:
- `manifest.json`: structure and types (`DatasetManifest.from_json`), shard names and counts that
  follow from `count` and `shard_size`, the array specs that follow from `size` and the schema;
- every shard: each `.npy` file readable with the manifest's dtype and shape and the shard's row count;
  targets finite and in [0, 1], discrete labels inside their groups, stored indices in order,
  landmarks, poses and descriptors finite, region ids of the label maps known.
Images cannot be checked: any byte is a pixel.

Training and evaluation read samples through `DatasetSource` (or `ArraySource` over arrays in memory).
"""

from __future__ import annotations

import json
import math
import os
import re
import tokenize
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.face.identity import DESCRIPTOR_SIZE
from f2p_engine.headmodel import schema

FORMAT = "f2p-synthetic-dataset-1"
MANIFEST = "manifest.json"
ARRAYS = ("images", "labels", "landmarks", "boxes", "continuous", "discrete", "pose", "index", "descriptor",
          "mesh_points")
#: Arrays a dataset may leave out: descriptors (`f2p generate --no-descriptors`), mesh points (datasets
#: made before generator f2p-synth-5).
OPTIONAL_ARRAYS = ("descriptor", "mesh_points")
#: Sanity limits: a manifest outside them is damaged, not a dataset (20000 samples take 31 min to make).
MAX_COUNT = 10_000_000
MIN_SIZE, MAX_SIZE = 32, 2048
_SHARD = re.compile(r"^shard-(\d{7})-(\d{7})$")


def shard_name(first: int, end: int) -> str:
    return f"shard-{first:07d}-{end:07d}"


def shard_ranges(count: int, shard_size: int) -> list[tuple[int, int]]:
    return [(first, min(first + shard_size, count)) for first in range(0, count, shard_size)]


def is_shard_name(name: str) -> bool:
    return _SHARD.match(name) is not None


@dataclass(frozen=True, slots=True)
class ArraySpec:
    """dtype name and per-sample shape of one shard array (the first axis, the sample, left out)."""

    dtype: str
    shape: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": list(self.shape)}


def array_specs(size: int, parameters: int, groups: int, regions: int) -> dict[str, ArraySpec]:
    """What every shard array holds, `ARRAYS` order, for images of side `size`."""
    return {"images": ArraySpec("uint8", (size, size, 3)), "labels": ArraySpec("uint8", (size, size)),
            "landmarks": ArraySpec("float32", (68, 2)), "boxes": ArraySpec("int32", (regions, 4)),
            "continuous": ArraySpec("float32", (parameters,)), "discrete": ArraySpec("int64", (groups,)),
            "pose": ArraySpec("float32", (3,)), "index": ArraySpec("int64", ()),
            "descriptor": ArraySpec("float32", (DESCRIPTOR_SIZE,)), "mesh_points": ArraySpec("float32", (468, 2))}


# -- the manifest --------------------------------------------------------------------------------
class _Fields:
    """Typed reads of a JSON object; any wrong type or value is an InputError naming `path` and the key."""

    def __init__(self, data: object, path: Path, where: str = "") -> None:
        if not isinstance(data, dict):
            raise InputError(f"{path}: {where or 'manifest'} is {type(data).__name__}, expected an object")
        self.data, self.path, self.where = data, path, where

    def fail(self, key: str, problem: str) -> InputError:
        return InputError(f"{self.path}: {self.where}{key} {problem}")

    def get(self, key: str) -> Any:
        if key not in self.data:
            raise self.fail(key, "is missing")
        return self.data[key]

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, f"must be an integer from {low} to {high}, got {value!r:.40}")
        return value

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {type(value).__name__}")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a non-empty list of strings")
        return tuple(value)

    def numbers(self, value: object, key: str, length: int) -> tuple[float, ...]:
        # Integers beyond float range would raise OverflowError in isfinite: not numbers a manifest holds.
        if (not isinstance(value, list) or len(value) != length
                or not all((isinstance(v, float) and math.isfinite(v))
                           or (isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**53) for v in value)):
            raise self.fail(key, f"must be a list of {length} finite numbers")
        return tuple(float(v) for v in value)

    def child(self, key: str) -> _Fields:
        return _Fields(self.get(key), self.path, f"{self.where}{key}.")


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetManifest:
    """`manifest.json` of a synthetic dataset (see `synth.dataset`): what was made and how it is stored.

    `shards`: folder names in index order, `shard_size` samples each (the last may hold fewer);
    `arrays`: name -> spec of every shard array; `parameters`: continuous names, schema order;
    `discrete_groups`: group -> option names; `labels`: region label names by id; `regions`: box
    order; `eye_targets`: ((x, y), (x, y)) aligned pixels; `crop_boxes`: region -> (x0, y0, x1, y1)
    of the mean aligned landmarks; `augmentation`: the augmentation config, as written.
    """

    count: int
    seed: int
    size: int
    shard_size: int
    augmentation: Mapping[str, Any]
    generator_version: str
    schema_version: int
    shards: tuple[str, ...]
    arrays: Mapping[str, ArraySpec]
    parameters: tuple[str, ...]
    discrete_groups: Mapping[str, tuple[str, ...]]
    labels: tuple[str, ...]
    regions: tuple[str, ...]
    eye_targets: tuple[tuple[float, ...], ...]
    crop_boxes: Mapping[str, tuple[int, ...]]

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "count": self.count, "seed": self.seed, "size": self.size,
                "shard_size": self.shard_size, "augmentation": dict(self.augmentation),
                "generator_version": self.generator_version, "schema_version": self.schema_version,
                "shards": list(self.shards), "arrays": {k: v.to_json() for k, v in self.arrays.items()},
                "parameters": list(self.parameters),
                "discrete_groups": {k: list(v) for k, v in self.discrete_groups.items()},
                "labels": list(self.labels), "regions": list(self.regions),
                "eye_targets": [list(t) for t in self.eye_targets],
                "crop_boxes": {k: list(v) for k, v in self.crop_boxes.items()}}

    @classmethod
    def from_json(cls, data: object, path: Path) -> DatasetManifest:
        """Validate a parsed manifest; InputError naming `path` and the first problem found."""
        fields = _Fields(data, path)
        if fields.data.get("format") != FORMAT:
            raise InputError(f"{path}: not an f2p synthetic dataset manifest (format {FORMAT!r})")
        count = fields.integer("count", 1, MAX_COUNT)
        shard_size = fields.integer("shard_size", 1, MAX_COUNT)
        size = fields.integer("size", MIN_SIZE, MAX_SIZE)
        shards = fields.texts("shards")
        expected = [shard_name(a, b) for a, b in shard_ranges(count, shard_size)]
        if list(shards) != expected:
            raise fields.fail("shards", f"do not match count {count} and shard_size {shard_size} "
                                        f"({len(shards)} listed, {len(expected)} expected)")
        parameters = fields.texts("parameters")
        groups = fields.child("discrete_groups")
        discrete_groups = {name: groups.texts(name) for name in groups.data}
        labels, regions = fields.texts("labels"), fields.texts("regions")
        wanted = array_specs(size, len(parameters), len(discrete_groups), len(regions))
        specs = fields.child("arrays")
        required = set(ARRAYS) - set(OPTIONAL_ARRAYS)
        if not required <= set(specs.data) <= set(ARRAYS):
            raise fields.fail("arrays", f"must name {', '.join(sorted(required))} and may name "
                                        f"{', '.join(OPTIONAL_ARRAYS)}")
        wanted = {name: spec for name, spec in wanted.items() if name in specs.data}
        for name, spec in wanted.items():
            found = specs.child(name)
            if found.data != spec.to_json():
                raise specs.fail(name, f"is {found.data}, expected {spec.to_json()}")
        targets = fields.get("eye_targets")
        if not isinstance(targets, list) or len(targets) != 2:
            raise fields.fail("eye_targets", "must hold two points")
        boxes = fields.child("crop_boxes")
        augmentation = fields.child("augmentation").data
        seed = fields.integer("seed", -(2**63), 2**64 - 1)
        return cls(count=count, seed=seed, size=size, shard_size=shard_size, augmentation=augmentation,
                   generator_version=fields.text("generator_version"),
                   schema_version=fields.integer("schema_version", 0, 2**31), shards=shards, arrays=wanted,
                   parameters=parameters, discrete_groups=discrete_groups, labels=labels, regions=regions,
                   eye_targets=tuple(fields.numbers(t, "eye_targets", 2) for t in targets),
                   crop_boxes={r: tuple(int(v) for v in boxes.numbers(b, r, 4)) for r, b in boxes.data.items()})

    @classmethod
    def read(cls, path: Path) -> DatasetManifest:
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise InputError(f"{path}: no manifest (not a dataset, or its generation did not finish)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: unreadable manifest ({exc})") from None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{path}: malformed manifest ({str(exc)[:80]})") from None
        return cls.from_json(data, path)


# -- shards --------------------------------------------------------------------------------------
def _header(path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """dtype and shape from a .npy header, read before any data (a damaged header cannot ask for memory)."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            raise ValueError(f".npy format version {version} is not supported")
        shape, _, dtype = readers[version](handle)
    return dtype, shape


def load_shard(folder: Path, rows: int, specs: Mapping[str, ArraySpec], mmap: bool = True) -> dict[str, np.ndarray]:
    """Every array of one shard folder, read-only, each checked against its spec and `rows`."""
    arrays = {}
    for name, spec in specs.items():
        path = folder / f"{name}.npy"
        try:
            dtype, shape = _header(path)
            if str(dtype) != spec.dtype or shape != (rows, *spec.shape):
                raise InputError(f"{path}: holds {dtype} {shape}, expected {spec.dtype} {(rows, *spec.shape)}")
            arrays[name] = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except FileNotFoundError:
            raise InputError(f"{path}: missing (the dataset is incomplete; rerun f2p generate)") from None
        # numpy reports a damaged header as any of these (its header is parsed as a Python literal)
        except (OSError, ValueError, EOFError, SyntaxError, tokenize.TokenError) as exc:
            raise InputError(f"{path}: unreadable array ({str(exc)[:80]})") from None
    return arrays


def shard_problem(folder: Path, rows: int, specs: Mapping[str, ArraySpec]) -> str | None:
    """Why the shard folder is not complete and well-formed (structure only), or None."""
    try:
        load_shard(folder, rows, specs)
    except InputError as exc:
        return str(exc)
    return None


def _check_values(arrays: Mapping[str, np.ndarray], first: int, manifest: DatasetManifest, folder: Path) -> None:
    """The values: finite, targets in [0, 1], labels inside their groups, indices in order, region ids known."""
    for name in ("continuous", "landmarks", "pose", "descriptor", "mesh_points"):
        if name in arrays and not np.isfinite(arrays[name]).all():
            raise InputError(f"{folder / name}.npy: holds NaN or infinite values")
    continuous = arrays["continuous"]
    if continuous.size and (continuous.min() < 0.0 or continuous.max() > 1.0):
        raise InputError(f"{folder}/continuous.npy: targets outside [0, 1]")
    options = np.asarray([len(v) for v in manifest.discrete_groups.values()], dtype=np.int64)
    discrete = arrays["discrete"]
    if ((discrete < 0) | (discrete >= options)).any():
        raise InputError(f"{folder}/discrete.npy: labels outside their groups' options")
    if not np.array_equal(arrays["index"], np.arange(first, first + len(discrete))):
        raise InputError(f"{folder}/index.npy: sample indices out of order (expected {first}..)")
    labels = arrays["labels"]
    if labels.size and int(labels.max()) >= len(manifest.labels):
        raise InputError(f"{folder}/labels.npy: region ids outside 0..{len(manifest.labels) - 1}")


# -- the reader ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SyntheticDataset:
    """A dataset written by `generate`, validated on open: `len(ds)`, `ds.arrays(i)` for shard i, `ds.sample(k)`.

    Arrays are memory-mapped (read-only) unless `mmap=False`.
    """

    folder: Path
    manifest: DatasetManifest
    mmap: bool = True

    @classmethod
    def open(cls, folder: str | os.PathLike[str], mmap: bool = True) -> SyntheticDataset:
        """InputError (one line naming the file) unless `folder` holds a complete, well-formed dataset."""
        folder = Path(folder)
        manifest = DatasetManifest.read(folder / MANIFEST)
        dataset = cls(folder, manifest, mmap)
        for shard, (first, _) in enumerate(shard_ranges(manifest.count, manifest.shard_size)):
            _check_values(dataset._load(shard), first, manifest, folder / manifest.shards[shard])
        return dataset

    def __len__(self) -> int:
        return self.manifest.count

    @property
    def shard_count(self) -> int:
        return len(self.manifest.shards)

    def _load(self, shard: int) -> dict[str, np.ndarray]:
        first, end = shard_ranges(self.manifest.count, self.manifest.shard_size)[shard]
        return load_shard(self.folder / self.manifest.shards[shard], end - first, self.manifest.arrays, self.mmap)

    def arrays(self, shard: int) -> dict[str, np.ndarray]:
        """Every array of shard `shard` (first axis: its samples)."""
        return self._load(shard)

    def iter_shards(self) -> Iterator[dict[str, np.ndarray]]:
        for shard in range(self.shard_count):
            yield self.arrays(shard)

    def sample(self, index: int) -> dict[str, np.ndarray]:
        """Sample `index` (0 <= index < len) as a dict of arrays without the sample axis."""
        if not 0 <= index < len(self):
            raise IndexError(index)
        shard, offset = divmod(index, self.manifest.shard_size)
        return {name: array[offset] for name, array in self.arrays(shard).items()}


# -- samples for training and evaluation ---------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetSample:
    """One labelled aligned face, as training and evaluation read it.

    `image`: (S, S, 3) uint8 RGB aligned face; `landmarks`: (68, 2) float, aligned-image pixels;
    `continuous`: (len(schema.CONTINUOUS),) float32 in [0, 1], schema order;
    `discrete`: (len(schema.DISCRETE_GROUPS),) int64 option indices, schema order;
    `descriptor`: (128,) float32 identity descriptor of the image, when the source stores one.
    """

    image: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)
    continuous: np.ndarray = field(repr=False)
    discrete: np.ndarray = field(repr=False)
    descriptor: np.ndarray | None = field(default=None, repr=False)


class SampleSource(Protocol):
    """Anything indexable that yields `DatasetSample`s."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> DatasetSample: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ArraySource:
    """Samples held in arrays: images (N, S, S, 3) uint8, landmarks (N, 68, 2), continuous (N, P)
    float32, discrete (N, G) int64 (`DatasetSample` explains each)."""

    images: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)
    continuous: np.ndarray = field(repr=False)
    discrete: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> DatasetSample:
        return DatasetSample(image=self.images[index], landmarks=self.landmarks[index],
                             continuous=self.continuous[index], discrete=self.discrete[index])


class DatasetSource:
    """A `SampleSource` over a synthetic dataset folder (`f2p generate`) made for this parameter
    schema; shards stay memory-mapped."""

    def __init__(self, dataset: SyntheticDataset) -> None:
        manifest = dataset.manifest
        if (manifest.schema_version != schema.SCHEMA_VERSION
                or list(manifest.parameters) != [p.name for p in schema.CONTINUOUS]
                or {g: list(o) for g, o in manifest.discrete_groups.items()}
                != {g.name: list(g.options) for g in schema.DISCRETE_GROUPS}):
            raise InputError(f"{dataset.folder}: dataset made for another parameter schema "
                             f"(version {manifest.schema_version}); regenerate it with `f2p generate`")
        self.dataset = dataset
        self._shards: dict[int, dict[str, np.ndarray]] = {}

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> DatasetSource:
        """InputError if `folder` is not a complete dataset of this schema."""
        return cls(SyntheticDataset.open(folder))

    @property
    def info(self) -> dict[str, Any]:
        """Seed, count and image size of the dataset (recorded in the model manifest)."""
        manifest = self.dataset.manifest
        return {"seed": manifest.seed, "count": manifest.count, "size": manifest.size,
                "generator_version": manifest.generator_version}

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> DatasetSample:
        if not 0 <= index < len(self):
            raise IndexError(index)
        shard, offset = divmod(int(index), self.dataset.manifest.shard_size)
        if shard not in self._shards:
            self._shards[shard] = self.dataset.arrays(shard)
        arrays = self._shards[shard]
        return DatasetSample(image=arrays["images"][offset], landmarks=arrays["landmarks"][offset],
                             continuous=arrays["continuous"][offset], discrete=arrays["discrete"][offset],
                             descriptor=arrays["descriptor"][offset] if "descriptor" in arrays else None)

