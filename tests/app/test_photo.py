"""Photo in: source view, pipeline strip, prediction -> sliders (through the pipeline seam), workers."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from app_doubles import FixedPredictor
from PySide6.QtWidgets import QApplication, QMessageBox
from skimage import data

from app import photo_pipeline as pipeline
from app.document import save_png
from app.images import rgb_to_qimage
from app.state import Models
from app.workers import LatestOnly
from f2p_engine.headmodel.schema import LOCAL_REGIONS
from f2p_engine.recipe import Recipe


def test_real_photo_goes_through_the_engine_pipeline(make_window, astronaut_file, qtbot):
    window = make_window()
    window.capture.open_photo(astronaut_file)
    np.testing.assert_array_equal(window.state.photo.pixels, data.astronaut())
    assert window.source_view.image is not None
    qtbot.waitUntil(lambda: window.state.analysis is not None, timeout=20000)

    analysis = window.state.analysis
    assert analysis.landmarks.shape == (68, 2)
    # The astronaut's face is in the upper middle of the 512x512 photo.
    assert 150 < analysis.landmarks[:, 0].mean() < 300
    assert 80 < analysis.landmarks[:, 1].mean() < 250
    assert window.source_view.points is analysis.landmarks
    assert all(tile.image is not None for tile in window.strip.tiles.values())
    message = window.statusBar().currentMessage()
    if window.state.predicted is None:  # no trained models installed: said, and nothing changed
        assert "model" in message
        assert window.state.recipe == Recipe()
    else:
        assert "predicted in" in message
        assert not window.undo_stack.canUndo()  # the prediction is where the photo's history starts


def test_photo_without_a_face_clears_the_head_and_says_so_once(make_window, astronaut_file, tmp_path, qtbot):
    predicted = Recipe().with_values({"nose/nose-hump-decr|incr": 0.6})
    window = make_window(load_predictor=lambda: FixedPredictor(predicted, {"nose": 0.8}))
    window.capture.open_photo(astronaut_file)
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)
    blank = tmp_path / "wall.png"
    save_png(rgb_to_qimage(np.full((300, 400, 3), 128, np.uint8)), blank)
    window.capture.open_photo(blank)
    qtbot.waitUntil(lambda: window.state.analysis is not None, timeout=20000)

    assert "no face found" in window.statusBar().currentMessage()
    # The previous photo's head is gone: the default head, no "(predicted)" marks, marked as such.
    assert window.state.recipe.value("nose/nose-hump-decr|incr") == 0.0
    assert window.state.predicted is None
    assert not any("(predicted)" in c.itemText(i) for c in window.panel.combos.values() for i in range(c.count()))
    assert window.head_view.banner.isVisibleTo(window)
    assert window.head_view.banner.text().startswith("Default head: ")
    # Said once: in the banner over the photo and the strip's note, not in every tile, and no dialog.
    assert "no face found" in window.source_view.banner
    assert "no face found" in window.strip.note.text()
    assert not any("no face" in tile.placeholder for tile in window.strip.tiles.values())
    assert not [box for box in window.findChildren(QMessageBox) if box.isVisible()]


def test_undo_never_crosses_photos(make_window, astronaut_file, tmp_path, qtbot):
    """One photo, one session: opening photo B starts a new undo history."""
    predicted = Recipe().with_values({"nose/nose-hump-decr|incr": 0.6})
    window = make_window(load_predictor=lambda: FixedPredictor(predicted, {"nose": 0.8}))
    window.capture.open_photo(astronaut_file)
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)
    window.panel.rows["mouth/mouth-scale-horiz-decr|incr"].spin.setValue(0.5)  # an edit on photo A
    second = tmp_path / "second.png"
    save_png(rgb_to_qimage(data.astronaut()[:, ::-1].copy()), second)
    window.capture.open_photo(second)
    assert window.state.recipe.value("mouth/mouth-scale-horiz-decr|incr") == 0.0
    assert window.state.recipe.name == "second"  # files and the .mhm name follow the photo
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)
    assert window.undo_stack.count() == 0  # B's prediction is where B's history starts
    window.undo_stack.undo()  # nothing: A's edit does not come back over B's photo
    assert window.state.recipe.value("mouth/mouth-scale-horiz-decr|incr") == 0.0
    assert window.state.recipe.value("nose/nose-hump-decr|incr") == pytest.approx(0.6)
    assert window.state.photo.name == "second.png"
    assert window.document.stem() == "second"


def test_prediction_reaches_sliders_and_strip(make_window, astronaut_file, qtbot):
    predicted = Recipe().with_values({"nose/nose-hump-decr|incr": 0.6, "macrodetails/Gender": 0.9}).with_choice(
        "eye_colour", "blue")
    models = FixedPredictor(predicted, {"nose": 0.75})
    window = make_window(load_predictor=lambda: models)
    window.panel.combos["eyelashes"].activated.emit(2)
    window.capture.open_photo(astronaut_file)
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)

    assert models.faces == 1
    assert set(window.strip.tiles) == {"aligned", "stylised", *LOCAL_REGIONS}
    assert all(tile.image is not None for tile in window.strip.tiles.values())
    assert window.source_view.points is window.state.analysis.landmarks
    row = window.panel.rows["nose/nose-hump-decr|incr"]
    assert row.spin.value() == pytest.approx(0.6)
    assert row.slider.marker == row.to_step(0.6)
    # Skin and eye colour are measured in the photo (the astronaut: light skin, brown eyes), not the models'.
    assert window.state.recipe.choice("eye_colour") == "brown"
    assert window.state.recipe.choice("skin") == "young_caucasian_male"  # Gender 0.9, default Age
    eyes = window.panel.combos["eye_colour"]
    assert eyes.itemText(eyes.findData("brown")) == "brown (measured)"  # says where it came from
    assert window.panel.sections["nose"].text().endswith("confidence 75%")
    assert window.state.recipe.choice("eyelashes") == "eyelashes03"  # the artist's choice stays
    window.undo_stack.undo()  # nothing to undo: the prediction is where the photo's session starts
    assert window.state.recipe.value("nose/nose-hump-decr|incr") == pytest.approx(0.6)


def test_undo_stops_at_the_prediction_of_the_photo(make_window, astronaut_file, qtbot):
    """One Ctrl+Z too many must not drop the prediction for the neutral head with every row edited."""
    predicted = Recipe().with_values({"nose/nose-hump-decr|incr": 0.6, "macrodetails/Age": 0.7})
    window = make_window(load_predictor=lambda: FixedPredictor(predicted, {"nose": 0.8}))
    window.capture.open_photo(astronaut_file)
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)
    window.panel.rows["mouth/mouth-scale-horiz-decr|incr"].spin.setValue(0.5)
    assert window.undo_action.isEnabled()
    window.undo_action.trigger()
    assert not window.undo_action.isEnabled()  # back at the prediction: nothing further to undo
    window.undo_action.trigger()
    assert window.state.recipe.value("nose/nose-hump-decr|incr") == pytest.approx(0.6)
    assert window.state.recipe.value("macrodetails/Age") == pytest.approx(0.7)
    assert not [row for row in window.panel.rows.values() if row.edited]
    assert window.state.dirty  # the prediction itself is unsaved work (autosaved, asked for on save)


def test_only_the_latest_request_is_delivered(qtbot):
    release = threading.Event()

    def work(request):
        if request.id == 1:
            release.wait(5)
        return request.id

    runner = LatestOnly(work)
    delivered = []
    runner.finished.connect(lambda request_id, result: delivered.append(result))
    first = pipeline.PhotoRequest(id=runner.next_id(), photos=(), adapter="none", models=Models())
    runner.submit(first)
    runner.submit(pipeline.PhotoRequest(id=runner.next_id(), photos=(), adapter="none", models=Models()))
    qtbot.waitUntil(lambda: delivered == [2], timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    time.sleep(0.05)
    QApplication.processEvents()
    assert delivered == [2]


def test_unreadable_photo_is_reported(make_window, tmp_path):
    window = make_window()
    fake = tmp_path / "holiday.jpg"
    fake.write_text("not an image")
    window.guarded(lambda: window.capture.open_photo(fake))
    assert "holiday.jpg" in window.statusBar().currentMessage()
    assert window.state.photo is None
    dialogs = [box for box in window.findChildren(QMessageBox) if box.isVisible()]
    assert len(dialogs) == 1  # a file that cannot be read is a dialog (a photo without a face is not)
    assert "holiday.jpg" in dialogs[0].text()


def test_paste_photo(make_window, qtbot):
    window = make_window()
    QApplication.clipboard().setImage(rgb_to_qimage(np.full((40, 50, 3), 200, np.uint8)))
    window.capture.paste_photo()
    assert window.state.photo.name == "pasted image"
    assert window.state.photo.pixels.shape == (40, 50, 3)
