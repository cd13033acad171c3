"""Mesh files that open as they are: the character as named objects with materials.

`character_objects` turns hm08 vertices and a recipe into `MeshObject`s: the skin (the head-and-neck
bust), each eye (sclera, iris and pupil materials, coloured from the recipe's eye colour), the
eyebrows and eyelashes, the hair and, when the look has them, the glasses. Eyebrows, eyelashes and
hair are MakeHuman's proxies the recipe names (its `eyebrows`, `eyelashes`, `hair` lines), fitted to
the head as the renderer fits them (`headmodel.proxies`), each with a material whose texture is the
renderer's strand texture in the recipe's colours with its alpha (`render.strands`); a recipe that
names no eyebrows or eyelashes gets hm08's own: the skin's brow band lifted off the surface and the
eyelash helper geometry. Glasses are the renderer's procedural frame and lenses (`render.glasses`).
More objects plug in through `OBJECT_MAKERS` (each maker takes an `ObjectContext` and returns its
objects). `export_character` writes them as OBJ with its .mtl and the textures (PNG, with alpha) beside
it, as GLB (one node per object and material, PBR colours, textures embedded, alpha blended), or as PLY
(one merged mesh: PLY has no objects or materials). Faces are triangles, or on request (`quads=True`,
OBJ only) the quads of hm08 and of the proxies: MakeHuman's topology for sculpting and retopology tools.

Units and frame: decimetres, Y up, as hm08 (MakeHuman's own export scale).
"""

from __future__ import annotations

import io
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
from f2p_engine.headmodel.proxies import Proxy, ProxySet, default_proxies
from f2p_engine.headmodel.schema import NO_HAIR
from f2p_engine.recipe import Recipe
from f2p_engine.render.glasses import GLASSES_SHAPES, glasses_proxies
from f2p_engine.render.palette import (
    IRIS_ALBEDO,
    IRIS_SINE,
    LASH_ALBEDO,
    PUPIL_ALBEDO,
    PUPIL_SINE,
    SCLERA_ALBEDO,
    SKIN_ALBEDO,
    brow_coordinates,
)
from f2p_engine.render.renderer import VertexNormals
from f2p_engine.render.scene import Appearance, appearance_of
from f2p_engine.render.strands import PROXY_STYLES, strand_coordinates, strand_rgba

#: Skin colour of a recipe whose skin has no albedo in the palette (MakeHuman's default skin).
_DEFAULT_SKIN = (0.75, 0.55, 0.45)
#: How far the eyebrow shell stands off the skin (dm): in front of it, never z-fighting.
_BROW_LIFT = 0.004
#: Quads whose centre is within this many brow half heights of the arch make the eyebrow object.
_BROW_BAND = 2.0
#: A textured material's colour: white, so the texture's own colours show (glTF's base colour factor and
#: most OBJ viewers multiply the two).
_WHITE = (1.0, 1.0, 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportMaterial:
    """A material as OBJ's .mtl and glTF's PBR both carry it: `colour` linear RGB albedo in [0, 1] and
    `opacity` in [0, 1]; `texture`, if any, a tiling (S, S, 4) uint8 image (sRGB colour, straight alpha)
    that `colour` multiplies; `double_sided` for shells seen from both sides (hair, lenses)."""

    name: str
    colour: tuple[float, float, float]
    opacity: float = 1.0
    texture: np.ndarray | None = field(default=None, repr=False, compare=False)
    double_sided: bool = False

    @property
    def blended(self) -> bool:
        """Whether what is behind shows through (alpha blending)."""
        return self.opacity < 1.0 or (self.texture is not None and bool((self.texture[:, :, 3] < 255).any()))


@dataclass(frozen=True, slots=True, kw_only=True)
class MeshObject:
    """One named object: `vertices` (N, 3) float32 dm, `uvs` (M, 2) float32, `faces` (F, 3) or (F, 4)
    local vertex indices (counter-clockwise from outside), `face_material` (F,) index into `materials`.
    `face_uvs` (F, 3) or (F, 4) indices into `uvs` per face corner, or None: one UV per vertex (M = N)."""

    name: str
    vertices: np.ndarray = field(repr=False)
    uvs: np.ndarray = field(repr=False)
    faces: np.ndarray = field(repr=False)
    materials: tuple[ExportMaterial, ...]
    face_material: np.ndarray = field(repr=False)
    face_uvs: np.ndarray | None = field(default=None, repr=False)

    def corner_uvs(self) -> np.ndarray:
        """(F, 3) or (F, 4) indices into `uvs` per face corner."""
        return self.faces if self.face_uvs is None else self.face_uvs


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectContext:
    """What an object maker gets: hm08 `vertices` (19158, 3) dm, the recipe and how it looks (the
    renderer's `Appearance`: colours, hair, glasses), the head and proxy assets, quads or not."""

    vertices: np.ndarray = field(repr=False)
    recipe: Recipe
    appearance: Appearance
    asset: HeadAsset
    proxies: ProxySet
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


def _proxy_object(name: str, ctx: ObjectContext, proxy: Proxy, material: ExportMaterial) -> MeshObject:
    """A proxy fitted to the head: its own vertices (the .mhclo fitting, as the renderer fits it), its
    quads or triangles; with a textured material, the strand coordinates the renderer samples, scaled by
    the style's repeats (the texture tiles), else the proxy's UVs."""
    quads = proxy.quads() if ctx.quads else None
    corners = proxy.triangles if quads is None else quads  # render vertices
    if material.texture is None:
        uvs, face_uvs = proxy.uvs.astype(np.float32), corners
    else:
        style = PROXY_STYLES[proxy.kind]
        coords = strand_coordinates(proxy)
        face_uvs = corners
        if style.crown:  # the azimuth wraps behind the head (+-0.5): a face across it takes u + 1 where u < 0
            u = coords[corners, 0]
            across = np.ptp(u + (u < 0), axis=1) < np.ptp(u, axis=1)
            coords = np.concatenate([coords, coords + np.array([1.0, 0.0], np.float32)])
            face_uvs = corners + (across[:, None] & (u < 0)) * len(proxy.render_vertex)
        uvs = (coords * np.asarray(style.strand_scale, np.float32)).astype(np.float32)
    return MeshObject(name=name, vertices=proxy.fit(ctx.vertices), uvs=uvs,
                      faces=proxy.render_vertex[corners].astype(np.int64), materials=(material,),
                      face_material=np.zeros(len(corners), np.int32), face_uvs=face_uvs.astype(np.int64))


def _strand_material(proxy: Proxy, albedo: tuple[float, float, float]) -> ExportMaterial:
    return ExportMaterial(name=proxy.key, colour=_WHITE, texture=strand_rgba(proxy.kind, albedo), double_sided=True)


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
    """The recipe's eyebrow proxy in its hair colour; for a recipe that names none, the skin's brow band
    (`palette.brow_coordinates` on the rest head) lifted along the normals, one object a side."""
    look = ctx.appearance
    if ctx.recipe.sets("eyebrows") and look.eyebrows is not None:
        proxy = ctx.proxies.get("eyebrows", look.eyebrows)
        return [_proxy_object("eyebrows", ctx, proxy, _strand_material(proxy, look.hair_colour))]
    rest = ctx.asset.base_coords
    centres = rest[ctx.asset.faces].mean(axis=1)
    coords = brow_coordinates(centres)
    # hm08's quads are coarser than the painted brow: take every quad whose centre is within twice the
    # hair's half height of the arch (about 20 quads a side).
    inside = (coords[:, 0] >= -0.05) & (coords[:, 0] <= 1.05) & (np.abs(coords[:, 1]) <= _BROW_BAND)
    bust = _bust(ctx.asset)
    mask = bust & inside
    offset = _BROW_LIFT * _unit(VertexNormals(_split_quads(ctx.asset.faces[bust]), len(ctx.vertices))(
        ctx.vertices.astype(np.float64)))
    material = ExportMaterial(name="eyebrows", colour=look.brow_colour)
    return [_object(f"eyebrows_{side}", ctx, mask & pick, (material,), offset=offset)
            for side, pick in (("left", centres[:, 0] > 0), ("right", centres[:, 0] < 0))]


def eyelash_objects(ctx: ObjectContext) -> list[MeshObject]:
    """The recipe's eyelash proxy; for a recipe that names none, hm08's eyelash helper geometry (the shape
    MakeHuman fits its eyelash proxies to), one object a side."""
    look = ctx.appearance
    if ctx.recipe.sets("eyelashes") and look.eyelashes is not None:
        proxy = ctx.proxies.get("eyelashes", look.eyelashes)
        return [_proxy_object("eyelashes", ctx, proxy, _strand_material(proxy, LASH_ALBEDO))]
    names = np.asarray(ctx.asset.group_names)[ctx.asset.face_groups]
    material = ExportMaterial(name="eyelashes", colour=LASH_ALBEDO)
    return [_object(f"eyelashes_{side}", ctx, np.char.startswith(names.astype(str), f"helper-{s}-eyelashes"),
                    (material,)) for side, s in (("left", "l"), ("right", "r"))]


def hair_objects(ctx: ObjectContext) -> list[MeshObject]:
    """The recipe's hair proxy in its hair colour (none for a bald head)."""
    look = ctx.appearance
    if look.hair == NO_HAIR:
        return []
    proxy = ctx.proxies.get("hair", look.hair)
    return [_proxy_object("hair", ctx, proxy, _strand_material(proxy, look.hair_colour))]


def glasses_objects(ctx: ObjectContext) -> list[MeshObject]:
    """The look's glasses, as the renderer draws them: the frame, and the lenses in their tint and opacity."""
    glasses = ctx.appearance.glasses
    if glasses is None:
        return []
    frame, lenses = glasses_proxies(GLASSES_SHAPES[glasses.shape], ctx.asset)
    r, g, b, opacity = glasses.lens
    return [_proxy_object("glasses_frame", ctx, frame, ExportMaterial(name="glasses_frame", colour=glasses.frame,
                                                                      double_sided=True)),
            _proxy_object("glasses_lenses", ctx, lenses, ExportMaterial(name="glasses_lenses", colour=(r, g, b),
                                                                        opacity=opacity, double_sided=True))]


def _split_quads(quads: np.ndarray) -> np.ndarray:
    """(2Q, 3) triangles of (Q, 4) quads, split along the 0-2 diagonal as the renderer splits them."""
    return np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    length = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, length, out=np.zeros_like(vectors), where=length > 0)


#: The character's objects, in export order. A new kind of object appends its maker.
OBJECT_MAKERS: list[Callable[[ObjectContext], list[MeshObject]]] = [
    skin_objects, eye_objects, eyebrow_objects, eyelash_objects, hair_objects, glasses_objects]


def character_objects(vertices: np.ndarray, recipe: Recipe, *, quads: bool = False, asset: HeadAsset | None = None,
                      appearance: Appearance | None = None, proxies: ProxySet | None = None) -> list[MeshObject]:
    """Every object of the character for hm08 `vertices` (19158, 3) dm, empty ones left out. `appearance`:
    how it looks (default: `scene.appearance_of(recipe)`, what the studio and `f2p render` draw)."""
    ctx = ObjectContext(vertices=vertices, recipe=recipe, appearance=appearance or appearance_of(recipe),
                        asset=asset or default_asset(), proxies=proxies or default_proxies(), quads=quads)
    return [obj for make in OBJECT_MAKERS for obj in make(ctx) if len(obj.faces)]


def _unique_materials(objects: list[MeshObject]) -> list[ExportMaterial]:
    found: dict[str, ExportMaterial] = {}
    for material in (m for obj in objects for m in obj.materials):
        found.setdefault(material.name, material)
    return list(found.values())


def _texture_name(stem: str, material: ExportMaterial) -> str:
    return f"{stem}_{material.name}.png"


def _mtl_text(objects: list[MeshObject], stem: str) -> str:
    lines = ["# f2p materials"]
    for material in _unique_materials(objects):
        r, g, b = material.colour
        lines += [f"newmtl {material.name}", f"Kd {r:.6f} {g:.6f} {b:.6f}", "Ka 0 0 0", "Ks 0.05 0.05 0.05",
                  "Ns 20", f"d {material.opacity:.6f}", "illum 2"]
        if material.texture is not None:
            texture = _texture_name(stem, material)
            lines += [f"map_Kd {texture}", f"map_d {texture}"]
        lines.append("")
    return "\n".join(lines)


def _obj_text(objects: list[MeshObject], mtl_name: str) -> str:
    lines = ["# f2p character: decimetres, Y up", f"mtllib {mtl_name}"]
    base = uv_base = 0
    for obj in objects:
        lines += [f"o {obj.name}", "s 1"]
        lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in obj.vertices.tolist()]
        lines += [f"vt {u:.6f} {v:.6f}" for u, v in obj.uvs.tolist()]
        current = -1
        for face, corner_uvs, material in zip((obj.faces + base + 1).tolist(),
                                              (obj.corner_uvs() + uv_base + 1).tolist(),
                                              obj.face_material.tolist(), strict=True):
            if material != current:
                lines.append(f"usemtl {obj.materials[material].name}")
                current = material
            lines.append("f " + " ".join(f"{i}/{t}" for i, t in zip(face, corner_uvs, strict=True)))
        base += len(obj.vertices)
        uv_base += len(obj.uvs)
    return "\n".join(lines) + "\n"


def _png_bytes(rgba: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def _trimesh_scene(objects: list[MeshObject]):
    """One trimesh geometry per (object, material), named `object` or `object.material`; vertices split
    where a face corner's UV differs (glTF has one UV per vertex), normals from the unsplit surface."""
    import trimesh
    from PIL import Image

    scene = trimesh.Scene()
    for obj in objects:
        triangles = obj.faces if obj.faces.shape[1] == 3 else _split_quads(obj.faces)
        corner_uvs = obj.corner_uvs() if obj.faces.shape[1] == 3 else _split_quads(obj.corner_uvs())
        per_face = obj.face_material if obj.faces.shape[1] == 3 else np.concatenate([obj.face_material] * 2)
        normals = _unit(VertexNormals(triangles, len(obj.vertices))(obj.vertices.astype(np.float64)))
        for index, material in enumerate(obj.materials):
            chosen = per_face == index
            if not chosen.any():
                continue
            pairs, corners = np.unique(np.stack([triangles[chosen].ravel(), corner_uvs[chosen].ravel()], axis=1),
                                       axis=0, return_inverse=True)
            texture = None if material.texture is None else Image.fromarray(material.texture, "RGBA")
            pbr = trimesh.visual.material.PBRMaterial(
                name=material.name, metallicFactor=0.0, roughnessFactor=0.7,
                baseColorFactor=[*material.colour, material.opacity], baseColorTexture=texture,
                alphaMode="BLEND" if material.blended else "OPAQUE", doubleSided=material.double_sided)
            mesh = trimesh.Trimesh(vertices=obj.vertices[pairs[:, 0]], faces=corners.reshape(-1, 3),
                                   vertex_normals=normals[pairs[:, 0]], process=False,
                                   visual=trimesh.visual.TextureVisuals(uv=obj.uvs[pairs[:, 1]], material=pbr))
            name = obj.name if len(obj.materials) == 1 else f"{obj.name}.{material.name}"
            scene.add_geometry(mesh, geom_name=name, node_name=name)
    return scene


def export_character(vertices: np.ndarray, recipe: Recipe, path: str | os.PathLike[str], *,
                     quads: bool = False, appearance: Appearance | None = None) -> list[Path]:
    """Write the character; the format follows the suffix (.obj with its .mtl and a PNG per textured
    material, `<stem>_<material>.png`; .glb; .ply). All files or none (atomic). Returns the files
    written. Quads only in OBJ (glTF and this PLY writer take triangles). `appearance`: as in
    `character_objects`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in HEAD_FORMATS:
        raise InputError(f"{path}: unsupported mesh format {suffix!r} (use {', '.join(HEAD_FORMATS)})")
    objects = character_objects(vertices, recipe, quads=quads and suffix == ".obj", appearance=appearance)
    if suffix == ".obj":
        mtl = path.with_suffix(".mtl")
        textured = [m for m in _unique_materials(objects) if m.texture is not None]
        textures = [path.with_name(_texture_name(path.stem, m)) for m in textured]
        with atomic_outputs(path, mtl, *textures) as (obj_tmp, mtl_tmp, *texture_tmps):  # all or none
            obj_tmp.write_text(_obj_text(objects, mtl.name))
            mtl_tmp.write_text(_mtl_text(objects, path.stem))
            for material, tmp in zip(textured, texture_tmps, strict=True):
                tmp.write_bytes(_png_bytes(material.texture))
        return [path, mtl, *textures]
    scene = _trimesh_scene(objects)
    data = scene.export(file_type="glb") if suffix == ".glb" else scene.to_mesh().export(file_type="ply")
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return [path]


__all__ = ["OBJECT_MAKERS", "ExportMaterial", "MeshObject", "ObjectContext", "character_objects",
           "export_character"]
