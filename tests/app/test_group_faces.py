"""Faces of a group photo are numbered left to right (the pipeline keeps them largest first), in badges
big enough to read over the photo."""

from __future__ import annotations

import numpy as np

from app.images import qimage_to_rgb
from app.state import Photo, PhotoAnalysis, face_number

# Largest first, as the detector returns them: the middle face, then the right one, then the left one.
BOXES = ((260.0, 100.0, 380.0, 260.0), (460.0, 120.0, 560.0, 250.0), (40.0, 130.0, 130.0, 240.0))


def test_faces_are_numbered_left_to_right():
    assert [face_number(BOXES, i) for i in range(3)] == [2, 3, 1]
    assert PhotoAnalysis(faces=BOXES, face=1).number(1) == 3


def test_face_numbers_are_drawn_in_readable_badges(make_window, qtbot):
    window = make_window()
    view = window.source_view
    window.state.set_photo(Photo(name="group.png", pixels=np.full((400, 600, 3), 200, np.uint8)))
    window.state.set_analysis(PhotoAnalysis(faces=BOXES, face=0, note="face 2 of 3"))
    view.resize(600, 400)
    qtbot.waitUntil(lambda: view._scale > 0)
    pixels = qimage_to_rgb(view.grab().toImage()).astype(int)
    scale, target = view._scale, view._target
    for index, (x0, y0, _x1, _y1) in enumerate(BOXES):
        left, top = round(target.x() + x0 * scale), round(target.y() + y0 * scale)
        badge = pixels[top + 2: top + 40, left + 2: left + 6]  # a strip down the badge's left side
        filled = np.abs(badge - 200).sum(axis=2) > 60  # not the grey photo
        rows = np.nonzero(filled.all(axis=1))[0]
        # A badge at least 18 px tall at each box's corner (the old digits were bare 10-px text).
        assert len(rows) >= 16, f"face {index}: badge rows {len(rows)}"
