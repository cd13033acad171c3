"""Mesh files of the bare hm08 mesh: the full base mesh as OBJ. The character with its objects and
materials (OBJ + .mtl, GLB, PLY) is `f2p_engine.render.export`, which knows the look."""

from __future__ import annotations

import os

import numpy as np

from f2p_engine.files import atomic_output
from f2p_engine.headmodel.asset import HeadAsset, default_asset

HEAD_FORMATS = (".obj", ".glb", ".ply")


def write_basemesh_obj(vertices: np.ndarray, path: str | os.PathLike[str], asset: HeadAsset | None = None) -> None:
    """All 19158 hm08 vertices in MakeHuman's order and units (decimetres, Y up) with hm08's quads."""
    asset = asset or default_asset()
    lines = ["# f2p: hm08 base mesh, decimetres, Y up, MakeHuman vertex order"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices.tolist()]
    lines += ["f " + " ".join(str(i + 1) for i in quad) for quad in asset.faces.tolist()]
    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
