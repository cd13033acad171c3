"""Sessions: save and reopen (photo, prediction, edits, chosen face, view), a recipe saved beside its
photo brings the photo back, a plain .mhm marks nothing edited, a damaged autosave never stops the
studio, and two studios never touch each other's autosave."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from app_doubles import FixedPredictor
from face_samples import two_faces
from PySide6.QtWidgets import QMessageBox

from app.document import claim_autosave, save_png
from app.images import rgb_to_qimage
from app.session import read_session
from f2p_engine.recipe import Recipe

PREDICTED = Recipe().with_values({"nose/nose-hump-decr|incr": 0.6, "macrodetails/Age": 0.7})
MOUTH = "mouth/mouth-scale-horiz-decr|incr"


@pytest.fixture
def group(tmp_path):
    path = tmp_path / "pair.png"
    save_png(rgb_to_qimage(np.ascontiguousarray(two_faces())), path)
    return path


def _predicted_window(make_window, qtbot, photo, face=None):
    window = make_window(load_predictor=lambda: FixedPredictor(PREDICTED, {"nose": 0.8}))
    window.capture.open_photo(photo)
    qtbot.waitUntil(lambda: window.state.predicted is not None and not window.capture.runner.busy, timeout=20000)
    if face is not None:
        window.capture.choose_face(face)
        qtbot.waitUntil(lambda: window.state.analysis is not None and window.state.analysis.face == face
                        and window.state.predicted is not None and not window.capture.runner.busy, timeout=20000)
    return window


def test_a_saved_session_reopens_whole(make_window, group, tmp_path, qtbot):
    window = _predicted_window(make_window, qtbot, group, face=1)
    window.panel.rows[MOUTH].spin.setValue(0.4)
    window.set_view("three-quarter")
    out = tmp_path / "work.f2psession"
    window.document.save_session(out)
    saved = json.loads(out.read_text())
    assert saved["photo"]["path"] == str(group)  # by reference: the photo is not copied
    assert "png" not in saved["photo"]

    models = FixedPredictor(Recipe(), {})
    again = make_window(load_predictor=lambda: models)
    again.open_file(out)
    qtbot.waitUntil(lambda: again.state.analysis is not None and not again.capture.runner.busy, timeout=20000)
    assert models.faces == 0  # the prediction comes from the file, not from the models
    np.testing.assert_array_equal(again.state.photo.pixels, two_faces())
    assert again.state.analysis.face == 1  # the chosen face
    assert again.state.predicted.value("nose/nose-hump-decr|incr") == pytest.approx(0.6)  # the markers
    assert again.state.recipe.value(MOUTH) == pytest.approx(0.4)  # the edits
    assert again.view == "three-quarter"
    assert [row for row in again.panel.rows.values() if row.edited] == [again.panel.rows[MOUTH]]
    again.undo_stack.undo()  # the edits are one step over the prediction, and undo stops there
    again.undo_stack.undo()
    assert again.state.recipe.value(MOUTH) == 0.0
    assert again.state.recipe.value("macrodetails/Age") == pytest.approx(0.7)


def test_a_recipe_saved_beside_its_photo_offers_the_photo_back(make_window, group, tmp_path, qtbot):
    window = _predicted_window(make_window, qtbot, group)
    window.panel.rows[MOUTH].spin.setValue(0.4)
    recipe = tmp_path / "pair.mhm"
    window.document.save_to(recipe)

    again = make_window(load_predictor=lambda: FixedPredictor(Recipe(), {}))
    again.open_file(recipe)
    assert again.state.photo is None
    offers = [box for box in again.findChildren(QMessageBox) if box.objectName() == "bring_photo_back"]
    assert len(offers) == 1
    assert "pair.png" in offers[0].text()
    offers[0].button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: again.state.analysis is not None and not again.capture.runner.busy, timeout=20000)
    assert again.state.photo.name == "pair.png"
    assert again.state.predicted.value("nose/nose-hump-decr|incr") == pytest.approx(0.6)
    assert again.state.recipe.value(MOUTH) == pytest.approx(0.4)
    assert again.state.path == recipe
    assert not again.state.dirty  # it is the saved recipe


def test_a_plain_mhm_marks_no_row_as_edited(make_window, tmp_path):
    recipe = tmp_path / "mine.mhm"
    recipe.write_text("version v1.1.1\nmodifier chin/chin-width-decr|incr 0.300000\n"
                      "modifier nose/nose-hump-decr|incr -0.200000\nmodifier macrodetails/Age 0.800000\n")
    window = make_window(show=False)
    window.open_file(recipe)
    assert not [name for name, row in window.panel.rows.items() if row.edited]
    assert not [box for box in window.findChildren(QMessageBox) if box.isVisible()]
    window.panel.rows[MOUTH].spin.setValue(0.4)
    assert [name for name, row in window.panel.rows.items() if row.edited] == [MOUTH]


_DAMAGE = {
    "null": "null",
    "not json": "{\"format\": \"f2p-session-1\", ",
    "wrong types": json.dumps({"format": "f2p-session-1", "recipe": [1, 2], "face": "x"}),
    "photo not a png": None,  # filled in below: valid JSON whose embedded photo is not an image
    "missing photo file": None,
    "binary": "\x00\xff\xfe garbage",
}


@pytest.mark.parametrize("damage", list(_DAMAGE))
def test_a_damaged_autosave_is_set_aside_and_the_studio_starts(make_window, tmp_path, damage):
    autosave = tmp_path / "autosave.f2psession"
    session = {"format": "f2p-session-1", "recipe": {"format": "f2p-recipe-1", "modifiers": []},
               "predicted": None, "confidence": {}, "face": 0, "view": "front", "overlay": False}
    if damage == "photo not a png":
        autosave.write_text(json.dumps(session | {"photo": {"name": "a.png", "path": None, "png": "aGVsbG8="}}))
    elif damage == "missing photo file":
        autosave.write_text(json.dumps(session | {"photo": {"name": "a.png", "path": str(tmp_path / "gone.png"),
                                                            "sha256": "0" * 64}}))
    else:
        autosave.write_bytes(_DAMAGE[damage].encode("utf-8", "surrogateescape"))
    window = make_window()
    assert not window.document.restore_autosave()
    assert not autosave.exists()
    kept = list(tmp_path.glob("autosave.f2psession.damaged-*"))
    assert len(kept) == 1  # set aside, not deleted: the artist may want it
    boxes = [box for box in window.findChildren(QMessageBox) if box.isVisible()]
    assert len(boxes) == 1
    assert kept[0].name in boxes[0].text()
    assert window.state.recipe == Recipe()
    window.panel.rows[MOUTH].spin.setValue(0.4)  # and the studio works
    window.document.autosave()
    assert read_session(autosave).recipe.value(MOUTH) == pytest.approx(0.4)


def test_two_studios_never_share_or_delete_an_autosave(make_window, tmp_path, qtbot):
    first, second = claim_autosave(tmp_path / "app"), claim_autosave(tmp_path / "app")
    assert first.path != second.path
    a = make_window(autosave_path=first.path)
    b = make_window(autosave_path=second.path)
    a.panel.rows[MOUTH].spin.setValue(0.4)
    b.panel.rows[MOUTH].spin.setValue(-0.4)
    a.document.autosave()
    b.document.autosave()
    b.document.save_to(tmp_path / "b.mhm")  # saved: b's autosave goes, a's stays
    assert first.path.exists()
    assert not second.path.exists()
    assert read_session(first.path).recipe.value(MOUTH) == pytest.approx(0.4)
    second.lock.unlock()
    assert claim_autosave(tmp_path / "app").path == second.path  # a free slot is taken again


def test_damaged_recent_files_in_the_settings_are_skipped(settings, tmp_path):
    kept = tmp_path / "kept.mhm"
    kept.write_text("version v1.1.1\n")
    settings.set_text("files/recent", f"bad\0path\n\n{'x' * 5000}\n{kept}")
    assert settings.recent_files() == [kept]


def test_the_autosave_of_a_studio_that_died_is_taken_over(tmp_path):
    folder = tmp_path / "app"
    folder.mkdir()
    lock = folder / "autosave.f2psession.lock"
    subprocess.run([sys.executable, "-c", "import os, sys; from PySide6.QtCore import QLockFile; "
                    "lock = QLockFile(sys.argv[1]); assert lock.tryLock(0); os._exit(0)", str(lock)],
                   check=True, timeout=60)
    assert lock.exists()  # left behind by a process that no longer runs
    slot = claim_autosave(folder)
    assert slot.path == folder / "autosave.f2psession"
