"""The compiled hm08 head asset: base mesh, sparse targets, expression units.

All coordinates are MakeHuman base-mesh units: decimetres, Y up, the hm08 vertex order (19158
vertices). Target offsets are stored as int16 in units of 1e-3 dm, exactly as MakeHuman 1.x
stores them. Built by `scripts/build_head_asset.py`; checked against its manifest on load.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from f2p_engine.errors import AssetError
from f2p_engine.files import checked_sha256, resources_dir

ASSET_FILE = "hm08_head.npz"
ASSET_FORMAT = "f2p-hm08-head-1"
VERTEX_COUNT = 19158
#: hm08 vertex ranges (inclusive start, exclusive end).
BODY = (0, 13380)
L_EYE = (14598, 14670)
R_EYE = (14670, 14742)
TARGET_UNIT = 1e-3


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SparseTargets:
    """Named sparse offset sets; offsets of target i are rows starts[i]:starts[i+1]."""

    names: tuple[str, ...]
    starts: np.ndarray = field(repr=False)  # (n+1,) int64
    index: np.ndarray = field(repr=False)  # (nnz,) vertex indices
    vector: np.ndarray = field(repr=False)  # (nnz, 3) int16, units of 1e-3 dm

    def position(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(name) from None

    def rows(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(vertex indices, offsets in dm as float64) of one target."""
        i = self.position(name)
        lo, hi = self.starts[i], self.starts[i + 1]
        return self.index[lo:hi].astype(np.int64), self.vector[lo:hi] * TARGET_UNIT


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class HeadAsset:
    """The hm08 mesh with its targets. Coordinates: decimetres, Y up."""

    base_coords: np.ndarray = field(repr=False)  # (19158, 3) float32
    faces: np.ndarray = field(repr=False)  # (F, 4) int32 quads
    face_uvs: np.ndarray = field(repr=False)  # (F, 4) int32 indices into uvs
    uvs: np.ndarray = field(repr=False)  # (T, 2) float32
    face_groups: np.ndarray = field(repr=False)  # (F,) int16 index into group_names
    group_names: tuple[str, ...]
    mirror: np.ndarray = field(repr=False)  # (19158,) int32 left/right partner of each vertex
    targets: SparseTargets
    expressions: SparseTargets


def _sparse(data: np.lib.npyio.NpzFile, prefix: str) -> SparseTargets:
    return SparseTargets(names=tuple(str(n) for n in data[f"{prefix}_names"]), starts=data[f"{prefix}_starts"],
                         index=data[f"{prefix}_index"], vector=data[f"{prefix}_vector"])


def verify_asset(path: Path, what: str, script: str) -> None:
    """Raise AssetError unless `path`'s sha256 is the one in `manifest.json` beside it; `what` names the
    asset and `script` builds it, for the message."""
    manifest_path = path.parent / "manifest.json"
    try:
        expected = json.loads(manifest_path.read_text())["sha256"]
    except (OSError, ValueError, KeyError) as exc:
        raise AssetError(f"{manifest_path}: {what} manifest missing or unreadable ({exc})") from None
    if checked_sha256(path) != expected:
        raise AssetError(f"{path}: sha256 does not match its manifest; rebuild with {script}")


@contextmanager
def verified_npz(path: Path, what: str, script: str, fmt: str) -> Iterator[Any]:
    """The arrays of a compiled asset `path` (an .npz whose `format` is `fmt`), opened after its sha256
    check (`verify_asset`); AssetError naming the build `script` when it is missing, altered or of another format."""
    if not path.exists():
        raise AssetError(f"{path}: {what} not found; build it with {script}")
    verify_asset(path, what, script)
    with np.load(path) as data:
        if str(data["format"]) != fmt:
            raise AssetError(f"{path}: {what} format {data['format']} is not {fmt}")
        yield data


def load_asset(path: Path | None = None) -> HeadAsset:
    """Load and verify the head asset (default: the shipped one)."""
    path = path or resources_dir() / "head" / ASSET_FILE
    with verified_npz(path, "head asset", "scripts/build_head_asset.py", ASSET_FORMAT) as data:
        return HeadAsset(
            base_coords=data["base_coords"], faces=data["faces"], face_uvs=data["face_uvs"], uvs=data["uvs"],
            face_groups=data["face_groups"], group_names=tuple(str(g) for g in data["group_names"]),
            mirror=data["mirror"], targets=_sparse(data, "target"), expressions=_sparse(data, "expression"),
        )


@cache
def default_asset() -> HeadAsset:
    """The shipped asset, loaded once per process."""
    return load_asset()
