"""Opening MakeHuman recipes, saving .mhm that reads back identically, exports, autosave, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import trimesh
from PySide6.QtGui import QImage

from app.session import read_session
from f2p_engine.recipe import read_recipe

MAKEHUMAN_MHM = """\
# Written by MakeHuman 1.1.1
version v1.1.1
tags portrait;test
camera 0.0 0.0 0.0 0.0 0.0 1.0
modifier breast/BreastSize 0.500000
modifier breast/BreastFirmness 0.500000
modifier macrodetails/Gender 1.000000
modifier macrodetails/Age 0.687500
modifier macrodetails/African 0.000000
modifier macrodetails/Asian 0.000000
modifier macrodetails/Caucasian 1.000000
modifier macrodetails-universal/Muscle 0.500000
modifier macrodetails-universal/Weight 0.600000
modifier macrodetails-height/Height 0.500000
modifier macrodetails-proportions/BodyProportions 0.500000
modifier head/head-square 0.600000
modifier nose/nose-hump-decr|incr 0.400000
modifier eyes/l-eye-scale-decr|incr -0.200000
modifier ears/r-ear-scale-decr|incr 0.300000
eyes HighPolyEyes 2c12f43b-1303-432c-b7ce-d78346baf2e6
eyebrows eyebrow010 8261cde8-7ce2-47f3-a7a2-edf459c50887
hair short02 a7e3d2c1-0000-4000-8000-000000000002
clothesHideFaces True
skinMaterial skins/young_african_male/young_african_male.mhmat
material HighPolyEyes 2c12f43b-1303-432c-b7ce-d78346baf2e6 eyes/materials/green.mhmat
subdivide False
"""


@pytest.fixture
def makehuman_file(tmp_path) -> Path:
    path = tmp_path / "from_makehuman.mhm"
    path.write_text(MAKEHUMAN_MHM)
    return path


def test_open_existing_makehuman_recipe(make_window, makehuman_file):
    window = make_window()
    window.document.open_recipe(makehuman_file)

    panel = window.panel
    assert panel.rows["nose/nose-hump-decr|incr"].spin.value() == pytest.approx(0.4)
    assert panel.rows["macrodetails/Age"].slider.value() == panel.rows["macrodetails/Age"].to_step(0.6875)
    assert panel.rows["head/head-square"].spin.value() == pytest.approx(0.6)
    chosen = {group: combo.currentData() for group, combo in panel.combos.items()}
    assert chosen == {"skin": "young_african_male", "eye_colour": "green", "eyebrows": "eyebrow010",
                      "hair": "short02", "hair_colour": "black", "beard": "none", "eyelashes": "eyelashes01"}
    assert window.windowTitle().startswith("from_makehuman.mhm")
    assert not window.state.dirty
    assert window.undo_stack.count() == 0
    assert "kept but not shown" in window.statusBar().currentMessage()


def test_saved_mhm_reads_back_identically(make_window, makehuman_file, tmp_path):
    window = make_window()
    window.document.open_recipe(makehuman_file)
    window.panel.rows["mouth/mouth-scale-horiz-decr|incr"].spin.setValue(-0.37)
    window.panel.rows["eyes/r-eye-trans-down|up"].spin.setValue(0.125)
    assert window.state.dirty

    out = tmp_path / "edited.mhm"
    window.document.save_to(out)
    back = read_recipe(out)
    assert back.warnings == ()
    assert dict(back.recipe.modifiers) == dict(window.state.recipe.modifiers)
    assert back.recipe.properties == window.state.recipe.properties
    assert back.recipe.value("eyes/l-eye-trans-down|up") == 0.125  # under the symmetry lock
    assert back.recipe.modifiers["ears/r-ear-scale-decr|incr"] == 0.3  # outside the schema, kept
    assert "hair short02" in out.read_text()
    assert not window.state.dirty
    assert window.state.path == out
    assert out.resolve() in window.settings.recent_files()


def test_bad_recipe_is_reported_not_raised(make_window, tmp_path):
    window = make_window()
    bad = tmp_path / "broken.mhm"
    bad.write_text("this is not a recipe\n")
    before = window.state.recipe
    window.guarded(lambda: window.document.open_recipe(bad))
    assert "broken.mhm" in window.statusBar().currentMessage()
    assert window.state.recipe is before


@pytest.mark.parametrize("suffix", [".obj", ".glb"])
def test_export_mesh(make_window, tmp_path, suffix):
    window = make_window(show=False)
    window.panel.rows["chin/chin-width-decr|incr"].spin.setValue(0.8)
    out = tmp_path / f"head{suffix}"
    window.document.export_mesh(out)
    split = {"split_objects": True, "group_material": False} if suffix == ".obj" else {}
    scene = trimesh.load(out, process=False, **split)
    assert {"skin", "eye_left", "eye_right", "eyebrows_left", "eyelashes_right"} <= {
        name.split(".")[0] for name in scene.geometry}
    topology = window.head_view._topology
    skin = scene.geometry["skin"]
    assert len(skin.faces) == (topology.part == 0).sum()  # the skin is the 3D view's head, eyes apart
    assert skin.bounds[1][1] == pytest.approx(window.state.vertices[topology.vertex_ids][:, 1].max(), abs=1e-4)


def test_snapshot_png(make_window, tmp_path):
    window = make_window()
    out = tmp_path / "snap.png"
    window.document.save_snapshot(out)
    image = QImage(str(out))
    assert not image.isNull()
    assert image.width() == window.head_view.canvas.grabFramebuffer().width()


def test_autosave_survives_close_and_restores(make_window, tmp_path):
    window = make_window()
    window.panel.rows["nose/nose-volume-decr|incr"].spin.setValue(0.7)
    assert window.document.autosave_timer.isActive()
    window.close()  # unsaved: goes to the autosave file, no question asked
    autosave = tmp_path / "autosave.f2psession"
    assert read_session(autosave).recipe.value("nose/nose-volume-decr|incr") == 0.7

    again = make_window()
    assert again.document.restore_autosave()
    assert again.state.recipe.value("nose/nose-volume-decr|incr") == 0.7
    assert again.state.dirty
    again.document.save_to(tmp_path / "kept.mhm")
    assert not autosave.exists()


def test_settings_kept_between_runs(make_window):
    window = make_window()
    window.head_view.wireframe_button.click()
    window.panel.symmetry.setChecked(False)
    window.close()
    again = make_window()
    assert again.head_view.wireframe_button.isChecked()
    assert not again.editor.symmetry_lock
    assert not again.panel.symmetry.isChecked()
