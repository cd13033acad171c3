"""A group photo in the real window: clicking another face (a real X mouse click) predicts for it, quietly."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from app_doubles import FixedPredictor
from face_samples import three_faces
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QMessageBox

from app.document import save_png
from app.images import rgb_to_qimage
from f2p_engine.recipe import Recipe

PREDICTED = Recipe().with_values({"nose/nose-hump-decr|incr": 0.6})


def click_on_screen(widget, point: QPoint) -> None:
    """A real mouse click through the X server (xdotool), not an event posted to the widget."""
    spot = widget.mapToGlobal(point)
    subprocess.run(["xdotool", "mousemove", "--sync", str(spot.x()), str(spot.y()), "click", "1"], check=True,
                   timeout=10)


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool drives the real X pointer")
def test_clicking_the_third_face_of_a_group_photo_predicts_for_it_without_a_dialog(make_window, tmp_path, qtbot):
    photo = tmp_path / "group.png"
    save_png(rgb_to_qimage(np.ascontiguousarray(three_faces())), photo)
    models = FixedPredictor(PREDICTED, {"nose": 0.8})
    window = make_window(load_predictor=lambda: models)
    window.activateWindow()
    window.capture.open_photo(photo)
    qtbot.waitUntil(lambda: window.state.predicted is not None and not window.capture.runner.busy, timeout=20000)
    assert len(window.state.analysis.faces) == 3

    x0, y0, x1, y1 = window.state.analysis.faces[2]
    view = window.source_view
    click_on_screen(view, QPoint(round(view._target.x() + (x0 + x1) / 2 * view._scale),
                                 round(view._target.y() + (y0 + y1) / 2 * view._scale)))
    qtbot.waitUntil(lambda: window.state.analysis is not None and window.state.analysis.face == 2
                    and not window.capture.runner.busy, timeout=20000)
    qtbot.wait(100)
    assert not [box for box in window.findChildren(QMessageBox) if box.isVisible()]
    assert "error" not in window.statusBar().currentMessage().lower()
    assert window.source_view.banner.startswith("face 3 of 3")
    assert models.faces == 2
    assert window.state.analysis.landmarks[:, 0].mean() > 760  # the smallest face, on the right
