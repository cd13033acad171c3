"""Exports that open as they are: OBJ with its .mtl, GLB and PLY, loaded back by trimesh."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from f2p_engine.errors import InputError
from f2p_engine.headmodel.mesh import HeadModel, head_mesh
from f2p_engine.recipe import Recipe
from f2p_engine.render.export import OBJECT_MAKERS, character_objects, export_character
from f2p_engine.render.palette import IRIS_ALBEDO, SKIN_ALBEDO

RECIPE = (Recipe().with_values({"nose/nose-scale-horiz-decr|incr": 0.4})
          .with_choice("eye_colour", "green").with_choice("skin", "young_african_male"))
OBJECTS = {"skin", "eye_left", "eye_right", "eyebrows_left", "eyebrows_right", "eyelashes_left", "eyelashes_right"}


@pytest.fixture(scope="module")
def vertices():
    return HeadModel().vertices(RECIPE.modifiers)


def test_obj_opens_with_its_materials_and_separate_objects(vertices, tmp_path):
    written = export_character(vertices, RECIPE, tmp_path / "face.obj")
    assert [p.name for p in written] == ["face.obj", "face.mtl"]
    assert "mtllib face.mtl" in (tmp_path / "face.obj").read_text().splitlines()

    by_material = trimesh.load(tmp_path / "face.obj", process=False)  # what a viewer shows: colours from the .mtl
    colours = {name: np.asarray(g.visual.material.diffuse[:3]) / 255 for name, g in by_material.geometry.items()}
    np.testing.assert_allclose(colours["skin_young_african_male"], SKIN_ALBEDO["young_african_male"], atol=0.01)
    np.testing.assert_allclose(colours["eye_iris_green"], IRIS_ALBEDO["green"], atol=0.01)
    assert {"eyebrows", "eyelashes", "eye_sclera", "eye_pupil"} <= set(colours)

    by_object = trimesh.load(tmp_path / "face.obj", process=False, split_objects=True, group_material=False)
    names = set(by_object.geometry)
    assert names == OBJECTS
    skin = head_mesh()
    assert sum(len(g.faces) for n, g in by_object.geometry.items() if n.startswith("skin")) == np.count_nonzero(
        skin.part == 0)
    top = max(g.vertices[:, 1].max() for n, g in by_object.geometry.items() if n.startswith("skin"))
    assert top == pytest.approx(vertices[skin.vertex_ids][:, 1].max(), abs=1e-5)


def test_obj_in_makehumans_quads(vertices, tmp_path):
    export_character(vertices, RECIPE, tmp_path / "quads.obj", quads=True)
    faces = [line.split()[1:] for line in (tmp_path / "quads.obj").read_text().splitlines() if line.startswith("f ")]
    assert faces
    assert all(len(f) == 4 for f in faces)
    assert len(faces) == sum(len(o.faces) for o in character_objects(vertices, RECIPE, quads=True))


def test_glb_has_one_node_per_object_and_material(vertices, tmp_path):
    export_character(vertices, RECIPE, tmp_path / "face.glb")
    scene = trimesh.load(tmp_path / "face.glb")
    assert {name.split(".")[0] for name in scene.geometry} == OBJECTS
    skin = scene.geometry["skin"].visual.material
    np.testing.assert_allclose(np.asarray(skin.baseColorFactor[:3]) / 255, SKIN_ALBEDO["young_african_male"],
                               atol=0.01)
    assert "eye_left.eye_iris_green" in scene.geometry


def test_ply_is_one_mesh_of_every_object(vertices, tmp_path):
    export_character(vertices, RECIPE, tmp_path / "face.ply")
    mesh = trimesh.load(tmp_path / "face.ply", process=False)
    assert len(mesh.faces) == sum(len(o.faces) for o in character_objects(vertices, RECIPE))


def test_more_objects_plug_in(vertices, tmp_path):
    from f2p_engine.render.export import ExportMaterial, MeshObject

    def hat(ctx):
        return [MeshObject(name="hat", vertices=np.eye(3, dtype=np.float32), uvs=np.zeros((3, 2), np.float32),
                           faces=np.array([[0, 1, 2]]),
                           materials=(ExportMaterial(name="felt", colour=(0.2, 0.2, 0.2)),),
                           face_material=np.zeros(1, np.int32))]

    OBJECT_MAKERS.append(hat)
    try:
        export_character(vertices, RECIPE, tmp_path / "hat.glb")
    finally:
        OBJECT_MAKERS.remove(hat)
    assert "hat" in trimesh.load(tmp_path / "hat.glb").geometry


# -- MakeHuman's proxies the recipe names, with the renderer's strand textures, and glasses ------------------
STYLED = (RECIPE.with_choice("hair", "short02").with_choice("eyebrows", "eyebrow006")
          .with_choice("eyelashes", "eyelashes02").with_choice("hair_colour", "red"))
STYLED_OBJECTS = {"skin", "eye_left", "eye_right", "hair", "eyebrows", "eyelashes"}
TEXTURES = ["face_eyebrow006.png", "face_eyelashes02.png", "face_short02.png"]


def _linear(codes: np.ndarray) -> np.ndarray:
    """sRGB codes (uint8) to linear values, the standard formula."""
    c = codes / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _same_points(loaded: np.ndarray, fitted: np.ndarray, atol: float = 2e-6) -> None:
    """`loaded` (a file's vertices, repeated where UVs split them) are exactly the `fitted` points."""
    distinct = np.unique(loaded, axis=0)
    assert len(distinct) == len(fitted)
    for chunk in np.array_split(distinct, max(1, len(distinct) // 256)):  # a few MB at a time
        assert np.min(np.linalg.norm(chunk[:, None, :] - fitted[None, :, :], axis=2), axis=1).max() < atol


def _obj_object_lines(text: str, name: str, prefix: str) -> list[str]:
    """Lines starting with `prefix` of OBJ object `name`."""
    block = text.split(f"\no {name}\n", 1)[1].split("\no ", 1)[0]
    return [line for line in block.splitlines() if line.startswith(prefix)]


@pytest.fixture(scope="module")
def proxies():
    from f2p_engine.headmodel.proxies import default_proxies

    return default_proxies()


def test_obj_carries_the_named_proxies_with_strand_textures_with_alpha(vertices, proxies, tmp_path):
    from PIL import Image

    from f2p_engine.render.palette import HAIR_ALBEDO

    written = export_character(vertices, STYLED, tmp_path / "face.obj")
    assert [p.name for p in written] == ["face.obj", "face.mtl", *TEXTURES]
    mtl = (tmp_path / "face.mtl").read_text()
    hair_material = mtl.split("newmtl short02\n", 1)[1].split("newmtl", 1)[0]
    assert "map_Kd face_short02.png" in hair_material
    assert "map_d face_short02.png" in hair_material

    by_object = trimesh.load(tmp_path / "face.obj", process=False, split_objects=True, group_material=False)
    assert set(by_object.geometry) == STYLED_OBJECTS  # the proxies replace hm08's helper brows and lashes
    text = (tmp_path / "face.obj").read_text()
    for kind, option in (("hair", "short02"), ("eyebrows", "eyebrow006"), ("eyelashes", "eyelashes02")):
        fitted = proxies.get(kind, option).fit(vertices)
        assert len(_obj_object_lines(text, kind, "v ")) == len(fitted)  # the proxy's own vertices, shared
        _same_points(by_object.geometry[kind].vertices, fitted)

    by_material = trimesh.load(tmp_path / "face.obj", process=False)
    hair = by_material.geometry["short02"].visual.material.image
    assert hair.mode == "RGBA"
    pixels = np.asarray(hair)
    assert 0 < pixels[:, :, 3].min() < 128
    assert pixels[:, :, 3].max() == 255
    assert np.asarray(Image.open(tmp_path / "face_eyelashes02.png"))[:, :, 3].min() == 0  # lashes: gaps show
    linear = _linear(pixels[:, :, :3]).reshape(-1, 3).mean(axis=0)
    red = np.asarray(HAIR_ALBEDO["red"])
    np.testing.assert_allclose(linear / linear[0], red / red[0], atol=0.03)  # the palette's red hair
    assert 0.8 < linear[0] / red[0] < 1.2  # strands shade around the albedo


def test_glb_embeds_the_textures_with_alpha_blending(vertices, proxies, tmp_path):
    assert export_character(vertices, STYLED, tmp_path / "face.glb") == [tmp_path / "face.glb"]
    scene = trimesh.load(tmp_path / "face.glb")
    assert {name.split(".")[0] for name in scene.geometry} == STYLED_OBJECTS
    for kind, option in (("hair", "short02"), ("eyebrows", "eyebrow006"), ("eyelashes", "eyelashes02")):
        material = scene.geometry[kind].visual.material
        assert material.alphaMode == "BLEND"
        assert material.doubleSided
        texture = material.baseColorTexture
        assert texture.mode == "RGBA"
        assert np.asarray(texture)[:, :, 3].min() < 255
        _same_points(scene.geometry[kind].vertices, proxies.get(kind, option).fit(vertices))
    assert scene.geometry["skin"].visual.material.alphaMode == "OPAQUE"
    assert scene.geometry["skin"].visual.material.baseColorTexture is None


def test_exported_hair_follows_the_head_as_the_renderers_fitted_proxy_does(proxies, tmp_path):
    from f2p_engine.render.renderer import Renderer

    renderer = Renderer(size=32)
    index_of = np.full(19158, -1)
    index_of[renderer.vertex_ids] = np.arange(len(renderer.vertex_ids))
    head = HeadModel()
    hair = proxies.get("hair", "short02")
    widths = []
    for name, recipe in (("narrow", STYLED), ("round", STYLED.with_values({"head/head-round": 1.0}))):
        vertices = head.vertices(recipe.modifiers)
        export_character(vertices, recipe, tmp_path / f"{name}.obj")
        loaded = trimesh.load(tmp_path / f"{name}.obj", process=False, split_objects=True, group_material=False)
        exported = loaded.geometry["hair"].vertices
        _same_points(exported, hair.fit(vertices[renderer.vertex_ids], index_of))  # what the renderer draws
        widths.append(np.ptp(exported[:, 0]))
    renderer.release()
    assert widths[1] > 1.08 * widths[0]  # a rounder head wears wider hair


def test_quads_where_the_proxy_has_quads(vertices, proxies, tmp_path):
    export_character(vertices, STYLED, tmp_path / "quads.obj", quads=True)
    text = (tmp_path / "quads.obj").read_text()
    hair = proxies.get("hair", "short02")
    faces = [[int(c.split("/")[0]) for c in line.split()[1:]] for line in _obj_object_lines(text, "hair", "f ")]
    assert len(faces) == len(hair.triangles) // 2
    assert all(len(f) == 4 for f in faces)
    # Each quad's two halves are triangles the renderer draws (as vertex triples of the proxy).
    first = min(min(f) for f in faces)
    quads = np.asarray(faces) - first
    drawn = {tuple(t) for t in hair.render_vertex[hair.triangles].tolist()}
    assert {tuple(t) for t in quads[:, [0, 1, 2]].tolist()} | {tuple(t) for t in quads[:, [0, 2, 3]].tolist()} \
        == drawn


def test_glasses_of_the_look_are_objects_without_textures(vertices, tmp_path):
    from dataclasses import replace

    from f2p_engine.render.scene import Glasses, appearance_of

    look = replace(appearance_of(STYLED), glasses=Glasses(shape=1, frame=(0.3, 0.2, 0.1), lens=(0.1, 0.1, 0.1, 0.6)))
    written = export_character(vertices, STYLED, tmp_path / "face.obj", appearance=look)
    assert [p.name for p in written] == ["face.obj", "face.mtl", *TEXTURES]  # glasses need no texture
    assert "newmtl glasses_lenses\nKd 0.100000 0.100000 0.100000" in (tmp_path / "face.mtl").read_text()
    assert "d 0.600000" in (tmp_path / "face.mtl").read_text()
    export_character(vertices, STYLED, tmp_path / "face.glb", appearance=look)
    scene = trimesh.load(tmp_path / "face.glb")
    assert {"glasses_frame", "glasses_lenses"} <= set(scene.geometry)
    lenses = scene.geometry["glasses_lenses"].visual.material
    assert lenses.alphaMode == "BLEND"
    assert lenses.baseColorFactor[3] == pytest.approx(0.6 * 255, abs=1)
    eyes = max(scene.geometry[n].vertices[:, 2].max() for n in scene.geometry if n.startswith("eye_"))
    assert scene.geometry["glasses_frame"].vertices[:, 2].max() > eyes  # rims in front of the eyes...
    assert scene.geometry["glasses_lenses"].vertices[:, 2].min() > eyes  # ...and the lenses


def test_no_file_is_written_when_one_cannot_be(vertices, tmp_path):
    (tmp_path / "face_short02.png").mkdir()  # the hair texture's name is taken by a folder
    with pytest.raises(InputError, match=r"face_short02\.png: is a folder"):
        export_character(vertices, STYLED, tmp_path / "face.obj")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face_short02.png"]


def test_hair_strands_run_on_across_the_back_of_the_head(vertices, tmp_path):
    """Hair texture coordinates are the azimuth about the crown (90 strand repeats a turn), which wraps behind
    the head: a face there would otherwise squeeze a whole turn of strands. Faces around the crown's axis
    itself see every azimuth and are left out."""
    from f2p_engine.render.palette import HAIR_CROWN

    recipe = RECIPE.with_choice("hair", "long01")
    export_character(vertices, recipe, tmp_path / "long.obj")
    hair = trimesh.load(tmp_path / "long.obj", process=False, split_objects=True, group_material=False).geometry["hair"]
    corners = hair.vertices[hair.faces]
    off_axis = np.hypot(corners[:, :, 0] - HAIR_CROWN[0], corners[:, :, 2] - HAIR_CROWN[2]).min(axis=1) > 0.25
    behind = (corners[:, :, 2] < HAIR_CROWN[2]).all(axis=1) & off_axis
    spans = np.ptp(hair.visual.uv[hair.faces][:, :, 0], axis=1) / 90  # in turns
    assert behind.sum() > 100
    assert spans[off_axis].max() < 0.15
