"""Mesh files that open as they are: the character as named objects with materials.

`character_objects` turns hm08 vertices and a recipe into `MeshObject`s: the skin (the head-and-neck
bust), each eye (sclera, iris and pupil materials, coloured from the recipe's eye colour), the
eyebrows (the skin's brow band lifted off the surface, `palette.brow_coordinates`) and the
eyelashes (hm08's eyelash helper geometry). More objects plug in through `OBJECT_MAKERS` (hair and
proxies: each maker takes an `ObjectContext` and returns its objects). `export_character` writes
them as OBJ with its .mtl beside it, as GLB (one node per object, PBR colours), or as PLY (one
merged mesh: PLY has no objects or materials). Faces are triangles, or hm08's own quads on request
(`quads=True`, OBJ only: MakeHuman's topology for sculpting and retopology tools).

Units and frame: decimetres, Y up, as hm08 (MakeHuman's own export scale).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.files import atomic_output, atomic_outputs
from f2p_engine.headmodel.asset import BODY, L_EYE, R_EYE, HeadAsset, default_asset
from f2p_engine.headmodel.export import HEAD_FORMATS
from f2p_engine.headmodel.mesh import HEAD_CUT_Y
from f2p_engine.recipe import Recipe
from f2p_engine.render.palette import (
    BROW_ALBEDO,
    IRIS_ALBEDO,
    IRIS_SINE,
    PUPIL_ALBEDO,
    PUPIL_SINE,
    SCLERA_ALBEDO,
    SKIN_ALBEDO,
    brow_coordinates,
)

#: Skin colour of a recipe whose skin has no albedo in the palette (MakeHuman's default skin).
_DEFAULT_SKIN = (0.75, 0.55, 0.45)
#: How far the eyebrow shell stands off the skin (dm): in front of it, never z-fighting.
_BROW_LIFT = 0.004
#: Quads whose centre is within this many brow half heights of the arch make the eyebrow object.
_BROW_BAND = 2.0
_LASH_ALBEDO = (0.03, 0.025, 0.02)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportMaterial:
    """A material as OBJ's .mtl and glTF's PBR both carry it: linear RGB albedo in [0, 1]."""

    name: str
    colour: tuple[float, float, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class MeshObject:
    """One named object: `vertices` (N, 3) float32 dm, `uvs` (N, 2) float32, `faces` (F, 3) or (F, 4)
    local vertex indices (counter-clockwise from outside), `face_material` (F,) index into `materials`."""

    name: str
    vertices: np.ndarray = field(repr=False)
    uvs: np.ndarray = field(repr=False)
    faces: np.ndarray = field(repr=False)
    materials: tuple[ExportMaterial, ...]
    face_material: np.ndarray = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectContext:
    """What an object maker gets: hm08 `vertices` (19158, 3) dm, the recipe, the asset, quads or not."""

    vertices: np.ndarray = field(repr=False)
    recipe: Recipe
    asset: HeadAsset
    quads: bool


def _object(name: str, ctx: ObjectContext, face_mask: np.ndarray, materials: tuple[ExportMaterial, ...],
            face_material: np.ndarray | None = None, offset: np.ndarray | None = None) -> MeshObject:
    """The hm08 quads in `face_mask` as an object with its own compact vertex list (and UVs)."""
    quads, quad_uvs = ctx.asset.faces[face_mask], ctx.asset.face_uvs[face_mask]
    vertex_ids, local = np.unique(quads, return_inverse=True)
    local = local.reshape(quads.shape)
    uvs = np.zeros((len(vertex_ids), 2), np.float32)
    uvs[local.ravel()] = ctx.asset.uvs[quad_uvs.ravel()]
    vertices = ctx.vertices[vertex_ids].astype(np.float32)
    if offset is not None:
        vertices = vertices + offset[vertex_ids].astype(np.float32)
    per_quad = np.zeros(len(quads), np.int32) if face_material is None else face_material.astype(np.int32)
    if ctx.quads:
        faces, per_face = local, per_quad
    else:  # split along the 0-2 diagonal, as the renderer does
        faces = np.concatenate([local[:, [0, 1, 2]], local[:, [0, 2, 3]]])
        per_face = np.concatenate([per_quad, per_quad])
    return MeshObject(name=name, vertices=vertices, uvs=uvs, faces=faces.astype(np.int64), materials=materials,
                      face_material=per_face)


def _skin_material(recipe: Recipe) -> ExportMaterial:
    skin = recipe.choice("skin")
    return ExportMaterial(name=f"skin_{skin}", colour=SKIN_ALBEDO.get(skin, _DEFAULT_SKIN))


def _bust(asset: HeadAsset) -> np.ndarray:
    faces = asset.faces
    return (faces < BODY[1]).all(axis=1) & (asset.base_coords[faces][:, :, 1] > HEAD_CUT_Y).all(axis=1)


def skin_objects(ctx: ObjectContext) -> list[MeshObject]:
    return [_object("skin", ctx, _bust(ctx.asset), (_skin_material(ctx.recipe),))]


def eye_objects(ctx: ObjectContext) -> list[MeshObject]:
    """Each eyeball with sclera, iris and pupil by the angle from its forward (+Z) axis, as the renderer
    paints them."""
    colour = ctx.recipe.choice("eye_colour")
    materials = (ExportMaterial(name="eye_sclera", colour=SCLERA_ALBEDO),
                 ExportMaterial(name=f"eye_iris_{colour}", colour=IRIS_ALBEDO.get(colour, IRIS_ALBEDO["brown"])),
                 ExportMaterial(name="eye_pupil", colour=PUPIL_ALBEDO))
    objects = []
    for name, (lo, hi) in (("eye_left", L_EYE), ("eye_right", R_EYE)):
        mask = ((ctx.asset.faces >= lo) & (ctx.asset.faces < hi)).all(axis=1)
        rest = ctx.asset.base_coords
        centre = rest[lo:hi].mean(axis=0)
        direction = rest[ctx.asset.faces[mask]].mean(axis=1) - centre
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        sine = np.hypot(direction[:, 0], direction[:, 1])
        front = direction[:, 2] > 0
        which = np.where(front & (sine < PUPIL_SINE), 2, np.where(front & (sine < IRIS_SINE), 1, 0))
        objects.append(_object(name, ctx, mask, materials, face_material=which))
    return objects


def eyebrow_objects(ctx: ObjectContext) -> list[MeshObject]:
    """The skin's brow band (`palette.brow_coordinates` on the rest head), lifted along the normals
    so it sits on the skin as its own object (until eyebrow proxies are shipped)."""
    rest = ctx.asset.base_coords
    centres = rest[ctx.asset.faces].mean(axis=1)
    coords = brow_coordinates(centres)
    # hm08's quads are coarser than the painted brow: take every quad whose centre is within twice the
    # hair's half height of the arch (about 20 quads a side).
    inside = (coords[:, 0] >= -0.05) & (coords[:, 0] <= 1.05) & (np.abs(coords[:, 1]) <= _BROW_BAND)
    bust = _bust(ctx.asset)
    mask = bust & inside
    offset = _BROW_LIFT * _vertex_normals(ctx.vertices, ctx.asset.faces[bust])
    material = ExportMaterial(name="eyebrows", colour=BROW_ALBEDO)
    return [_object(f"eyebrows_{side}", ctx, mask & pick, (material,), offset=offset)
            for side, pick in (("left", centres[:, 0] > 0), ("right", centres[:, 0] < 0))]


def eyelash_objects(ctx: ObjectContext) -> list[MeshObject]:
    """hm08's eyelash helper geometry, the shape MakeHuman fits its eyelash proxies to."""
    names = np.asarray(ctx.asset.group_names)[ctx.asset.face_groups]
    material = ExportMaterial(name="eyelashes", colour=_LASH_ALBEDO)
    return [_object(f"eyelashes_{side}", ctx, np.char.startswith(names.astype(str), f"helper-{s}-eyelashes"),
                    (material,)) for side, s in (("left", "l"), ("right", "r"))]


def _vertex_normals(vertices: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """(19158, 3) unit area-weighted normals from `quads` (zero where a vertex has none)."""
    v = vertices.astype(np.float64)
    normals = np.zeros_like(v)
    face = np.cross(v[quads[:, 2]] - v[quads[:, 0]], v[quads[:, 3]] - v[quads[:, 1]])
    for corner in range(4):
        np.add.at(normals, quads[:, corner], face)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)


#: The character's objects, in export order. A new kind of object (hair, proxies) appends its maker.
OBJECT_MAKERS: list[Callable[[ObjectContext], list[MeshObject]]] = [
    skin_objects, eye_objects, eyebrow_objects, eyelash_objects]


def character_objects(vertices: np.ndarray, recipe: Recipe, *, quads: bool = False,
                      asset: HeadAsset | None = None) -> list[MeshObject]:
    """Every object of the character for hm08 `vertices` (19158, 3) dm, empty ones left out."""
    ctx = ObjectContext(vertices=vertices, recipe=recipe, asset=asset or default_asset(), quads=quads)
    return [obj for make in OBJECT_MAKERS for obj in make(ctx) if len(obj.faces)]


def _mtl_text(objects: list[MeshObject]) -> str:
    lines = ["# f2p materials"]
    seen: set[str] = set()
    for material in (m for obj in objects for m in obj.materials):
        if material.name not in seen:
            seen.add(material.name)
            r, g, b = material.colour
            lines += [f"newmtl {material.name}", f"Kd {r:.6f} {g:.6f} {b:.6f}", "Ka 0 0 0", "Ks 0.05 0.05 0.05",
                      "Ns 20", "d 1", "illum 2", ""]
    return "\n".join(lines)


def _obj_text(objects: list[MeshObject], mtl_name: str) -> str:
    lines = ["# f2p character: decimetres, Y up", f"mtllib {mtl_name}"]
    base = 0
    for obj in objects:
        lines.append(f"o {obj.name}")
        lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in obj.vertices.tolist()]
        lines += [f"vt {u:.6f} {v:.6f}" for u, v in obj.uvs.tolist()]
        current = -1
        for face, material in zip((obj.faces + base + 1).tolist(), obj.face_material.tolist(), strict=True):
            if material != current:
                lines.append(f"usemtl {obj.materials[material].name}")
                current = material
            lines.append("f " + " ".join(f"{i}/{i}" for i in face))
        base += len(obj.vertices)
    return "\n".join(lines) + "\n"


def _trimesh_scene(objects: list[MeshObject]):
    """One trimesh geometry per (object, material), named `object` or `object.material`."""
    import trimesh

    scene = trimesh.Scene()
    for obj in objects:
        triangles = obj.faces if obj.faces.shape[1] == 3 else np.concatenate([obj.faces[:, [0, 1, 2]],
                                                                             obj.faces[:, [0, 2, 3]]])
        per_face = obj.face_material if obj.faces.shape[1] == 3 else np.concatenate([obj.face_material] * 2)
        for index, material in enumerate(obj.materials):
            chosen = triangles[per_face == index]
            if not len(chosen):
                continue
            pbr = trimesh.visual.material.PBRMaterial(name=material.name, metallicFactor=0.0, roughnessFactor=0.7,
                                                      baseColorFactor=[*material.colour, 1.0])
            mesh = trimesh.Trimesh(vertices=obj.vertices, faces=chosen, process=False,
                                   visual=trimesh.visual.TextureVisuals(uv=obj.uvs, material=pbr))
            mesh.remove_unreferenced_vertices()
            name = obj.name if len(obj.materials) == 1 else f"{obj.name}.{material.name}"
            scene.add_geometry(mesh, geom_name=name, node_name=name)
    return scene


def export_character(vertices: np.ndarray, recipe: Recipe, path: str | os.PathLike[str], *,
                     quads: bool = False) -> list[Path]:
    """Write the character; the format follows the suffix (.obj with its .mtl, .glb, .ply). Atomic per
    file. Returns the files written. Quads only in OBJ (glTF and this PLY writer take triangles)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in HEAD_FORMATS:
        raise InputError(f"{path}: unsupported mesh format {suffix!r} (use {', '.join(HEAD_FORMATS)})")
    objects = character_objects(vertices, recipe, quads=quads and suffix == ".obj")
    if suffix == ".obj":
        mtl = path.with_suffix(".mtl")
        with atomic_outputs(path, mtl) as (obj_tmp, mtl_tmp):  # both or neither
            obj_tmp.write_text(_obj_text(objects, mtl.name))
            mtl_tmp.write_text(_mtl_text(objects))
        return [path, mtl]
    scene = _trimesh_scene(objects)
    data = scene.export(file_type="glb") if suffix == ".glb" else scene.to_mesh().export(file_type="ply")
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return [path]


__all__ = ["OBJECT_MAKERS", "ExportMaterial", "MeshObject", "ObjectContext", "character_objects",
           "export_character"]
