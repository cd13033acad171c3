"""One photo, one session: autosave brings back photo, prediction and edits; group photos; progress."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from app_doubles import FixedPredictor
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from skimage import data

from app.document import save_png
from app.images import qimage_to_rgb, rgb_to_qimage
from f2p_engine.recipe import Recipe, read_recipe

PREDICTED = Recipe().with_values({"nose/nose-hump-decr|incr": 0.6, "macrodetails/Age": 0.7})
MOUTH = "mouth/mouth-scale-horiz-decr|incr"


@pytest.fixture
def pair(tmp_path):
    """Two faces: the astronaut and, smaller, her mirror image beside her."""
    canvas = np.full((512, 512 + 384, 3), 120, np.uint8)
    canvas[:, :512] = data.astronaut()
    canvas[64:448, 512:] = cv2.resize(data.astronaut(), (384, 384))[:, ::-1]
    path = tmp_path / "pair.png"
    save_png(rgb_to_qimage(canvas), path)
    return path


def test_autosave_restores_photo_prediction_and_edits_together(make_window, astronaut_file, qtbot):
    window = make_window(load_predictor=lambda: FixedPredictor(PREDICTED, {"nose": 0.8}))
    window.capture.open_photo(astronaut_file)
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)
    window.panel.rows[MOUTH].spin.setValue(0.4)
    window.close()  # a crash-like end: unsaved, so everything goes to the autosave files

    again = make_window(load_predictor=lambda: FixedPredictor(Recipe(), {}))  # must not be asked
    assert again.document.restore_autosave()
    np.testing.assert_array_equal(again.state.photo.pixels, data.astronaut())
    assert again.state.photo.name == "astronaut.png"
    assert again.state.predicted.value("nose/nose-hump-decr|incr") == pytest.approx(0.6)  # the markers
    assert again.state.confidence == {"nose": 0.8}
    assert again.state.recipe.value(MOUTH) == pytest.approx(0.4)  # the edits
    assert again.state.recipe.value("macrodetails/Age") == pytest.approx(0.7)
    qtbot.waitUntil(lambda: again.state.analysis is not None and not again.capture.runner.busy, timeout=20000)
    assert again.state.analysis.landmarks.shape == (68, 2)  # the photo is analysed again for display...
    assert again.state.recipe.value(MOUTH) == pytest.approx(0.4)  # ...without replacing the edits
    again.undo_stack.undo()
    assert again.state.recipe.value(MOUTH) == 0.0
    assert again.state.predicted is not None


def test_group_photo_outlines_every_face_and_a_click_predicts_for_it(make_window, pair, qtbot):
    models = FixedPredictor(PREDICTED, {"nose": 0.8})
    window = make_window(load_predictor=lambda: models)
    window.capture.open_photo(pair)
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)
    analysis = window.state.analysis
    assert len(analysis.faces) == 2
    assert analysis.face == 0
    assert window.source_view.banner.startswith("face 1 of 2")
    # Both faces are outlined: the chosen one in yellow, the other dashed grey.
    pixels = qimage_to_rgb(window.source_view.grab().toImage())
    yellow = (pixels[:, :, 0] > 230) & (pixels[:, :, 1] > 180) & (pixels[:, :, 2] < 100)
    assert np.count_nonzero(yellow) > 100

    x0, y0, x1, y1 = analysis.faces[1]
    scale, target = window.source_view._scale, window.source_view._target
    click = QPoint(round(target.x() + (x0 + x1) / 2 * scale), round(target.y() + (y0 + y1) / 2 * scale))
    QTest.mouseClick(window.source_view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, click)
    qtbot.waitUntil(lambda: window.state.analysis is not None and window.state.analysis.face == 1, timeout=20000)
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)
    assert models.faces == 2
    assert window.source_view.banner.startswith("face 2 of 2")
    # The second face's landmarks are on the right-hand face.
    assert window.state.analysis.landmarks[:, 0].mean() > 512


class _SlowPredictor(FixedPredictor):
    """Waits for the test before answering, so the "analysing" state can be looked at."""

    def __init__(self) -> None:
        super().__init__(PREDICTED, {"nose": 0.8})
        self.release = threading.Event()

    def predict_aligned(self, image, landmarks, base=None, *, reading=None):
        self.release.wait(20)
        return super().predict_aligned(image, landmarks, base, reading=reading)


def test_progress_banner_with_the_stage_over_a_dimmed_head(make_window, astronaut_file, qtbot):
    models = _SlowPredictor()
    window = make_window(load_predictor=lambda: models)
    bright = qimage_to_rgb(window.head_view.snapshot()).astype(float).mean()
    window.capture.open_photo(astronaut_file)
    qtbot.waitUntil(lambda: window.state.busy == "predicting", timeout=20000)
    banner = window.head_view.banner
    assert banner.isVisibleTo(window)
    assert banner.text() == "Analysing astronaut.png: predicting…"
    view = window.head_view.container.geometry()
    assert view.contains(banner.geometry().topLeft())  # over the 3D view, not beside it
    assert banner.geometry().width() == view.width()
    dimmed = qimage_to_rgb(window.head_view.snapshot()).astype(float).mean()
    assert dimmed < bright - 5  # the old head fades towards the background while it is not final
    models.release.set()
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)
    assert not banner.isVisibleTo(window)
    assert "on screen in" in window.statusBar().currentMessage()


def test_saved_files_are_named_after_the_photo(make_window, astronaut_file, qtbot, tmp_path):
    window = make_window(load_predictor=lambda: FixedPredictor(PREDICTED, {"nose": 0.8}))
    window.capture.open_photo(astronaut_file)
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)
    assert window.document.stem() == "astronaut"
    assert window.windowTitle().startswith("astronaut")
    out = tmp_path / "saved.mhm"
    window.document.save_to(out)
    assert "name astronaut" in out.read_text().splitlines()
    assert read_recipe(out).recipe.name == "astronaut"


def test_opening_a_recipe_while_a_photo_is_analysed_drops_that_photos_result(make_window, astronaut_file, tmp_path,
                                                                             qtbot):
    models = _SlowPredictor()
    window = make_window(load_predictor=lambda: models)
    window.capture.open_photo(astronaut_file)
    qtbot.waitUntil(lambda: window.state.busy == "predicting", timeout=20000)
    recipe = tmp_path / "mine.mhm"
    recipe.write_text("version v1.1.1\nmodifier chin/chin-width-decr|incr 0.300000\n")
    window.document.open_recipe(recipe)
    assert window.state.busy is None
    models.release.set()
    qtbot.waitUntil(lambda: not window.capture.runner.busy, timeout=20000)
    qtbot.wait(50)
    assert window.state.predicted is None
    assert window.state.recipe.value("chin/chin-width-decr|incr") == pytest.approx(0.3)
    assert window.state.recipe.value("nose/nose-hump-decr|incr") == 0.0
    assert window.undo_stack.count() == 0


def test_choosing_another_adapter_keeps_the_edits_and_is_one_undo_step(make_window, astronaut_file, qtbot):
    window = make_window(load_predictor=lambda: FixedPredictor(PREDICTED, {"nose": 0.8}))
    window.capture.open_photo(astronaut_file)
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)
    window.panel.rows[MOUTH].spin.setValue(0.4)
    adapter = window.strip.adapter
    adapter.setCurrentIndex((adapter.currentIndex() + 1) % adapter.count())  # same photo, predicted again
    qtbot.waitUntil(lambda: window.undo_stack.undoText() == "Apply prediction" and not window.capture.runner.busy,
                    timeout=20000)
    assert window.state.recipe.value(MOUTH) == 0.0  # the prediction replaced the sliders...
    window.undo_stack.undo()
    assert window.state.recipe.value(MOUTH) == pytest.approx(0.4)  # ...as one step: the edit comes back
