"""Mesh files: the head as OBJ/GLB/PLY (via trimesh), and the full hm08 base mesh as OBJ."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.files import atomic_output
from f2p_engine.headmodel.asset import HeadAsset, default_asset
from f2p_engine.headmodel.mesh import head_mesh

HEAD_FORMATS = (".obj", ".glb", ".ply")


def head_trimesh(vertices: np.ndarray, asset: HeadAsset | None = None):
    """A trimesh.Trimesh of the head bust (with eyes) for hm08 `vertices`; normals and UVs attached."""
    import trimesh

    head = head_mesh(asset or default_asset())
    visual = trimesh.visual.TextureVisuals(uv=head.uvs)
    mesh = trimesh.Trimesh(vertices=vertices[head.vertex_ids], faces=head.triangles, visual=visual,
                           process=False)
    _ = mesh.vertex_normals  # computed now so every exporter writes them
    return mesh


def export_head(vertices: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write the head mesh; the format follows the suffix (.obj, .glb, .ply). Atomic."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in HEAD_FORMATS:
        raise InputError(f"{path}: unsupported mesh format {suffix!r} (use {', '.join(HEAD_FORMATS)})")
    mesh = head_trimesh(vertices)
    with atomic_output(path) as tmp:
        if suffix == ".obj":
            text = mesh.export(file_type="obj", include_normals=True, include_texture=True)
            tmp.write_text(text)
        else:
            tmp.write_bytes(mesh.export(file_type=suffix[1:]))


def write_basemesh_obj(vertices: np.ndarray, path: str | os.PathLike[str], asset: HeadAsset | None = None) -> None:
    """All 19158 hm08 vertices in MakeHuman's order and units (decimetres, Y up) with hm08's quads."""
    asset = asset or default_asset()
    lines = ["# f2p: hm08 base mesh, decimetres, Y up, MakeHuman vertex order"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices.tolist()]
    lines += ["f " + " ".join(str(i + 1) for i in quad) for quad in asset.faces.tolist()]
    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
