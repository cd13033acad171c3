"""Exports that open as they are: OBJ with its .mtl, GLB and PLY, loaded back by trimesh."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

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
