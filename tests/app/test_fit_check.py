"""The fit check: the head over the aligned photo at the photo's pose; opacity, wipe, before/after."""

from __future__ import annotations

import numpy as np
import pytest
from app_doubles import FixedPredictor

from f2p_engine.recipe import Recipe

PREDICTED = Recipe().with_values({"head/head-fat-decr|incr": -0.4, "macrodetails/Gender": 0.2})


@pytest.fixture
def fitted(make_window, astronaut_file, qtbot):
    """A window with the astronaut predicted and the overlay shown, first frame drawn."""
    window = make_window(load_predictor=lambda: FixedPredictor(PREDICTED, {"nose": 0.8}))
    window.capture.open_photo(astronaut_file)
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)
    window.overlay_action.trigger()
    qtbot.waitUntil(lambda: window.overlay_view.canvas.frame is not None, timeout=20000)
    return window


def test_overlay_draws_the_head_on_the_face_at_the_photos_pose(fitted):
    view = fitted.overlay_view
    assert fitted.head_stack.currentWidget() is view
    assert fitted.head_view.overlay_button.isChecked()
    frame = view.canvas.frame
    size = frame.photo.shape[0]
    # The head covers the aligned face: its eyes land where the photo's are (aligned eye targets).
    landmarks = fitted.state.analysis.aligned_landmarks * size / fitted.state.analysis.aligned.shape[0]
    for x, y in landmarks[36:48]:
        assert frame.mask[round(y), round(x)] > 0.5
    covered = frame.mask > 0.5
    assert 0.15 < covered.mean() < 0.8
    # The astronaut looks slightly to the side: a small pose, found by the engine from the landmarks.
    assert abs(frame.yaw) < 25
    assert abs(frame.pitch) < 25
    assert abs(frame.roll) < 10
    assert "yaw" in view.pose_label.text()


def test_opacity_and_wipe_blend_photo_and_head(fitted, qtbot):
    view = fitted.overlay_view
    frame = view.canvas.frame
    covered = frame.mask > 0.99
    view.opacity.setValue(100)
    np.testing.assert_allclose(view.canvas.composite()[covered], frame.head[covered], atol=1)
    view.opacity.setValue(0)
    np.testing.assert_allclose(view.canvas.composite(), frame.photo, atol=1)
    view.opacity.setValue(100)
    view.wipe.setValue(50)  # the bare photo left of the middle, the head right of it
    half = frame.photo.shape[1] // 2
    left, right = np.zeros_like(covered), np.zeros_like(covered)
    left[:, : half - 2], right[:, half + 2:] = True, True
    shown = view.canvas.composite()
    np.testing.assert_array_equal(shown[covered & left], frame.photo[covered & left])
    np.testing.assert_allclose(shown[covered & right], frame.head[covered & right], atol=1)


def test_before_after_and_edits_redraw_the_head(fitted, qtbot):
    view = fitted.overlay_view
    first = view.canvas.frame
    fitted.panel.rows["head/head-fat-decr|incr"].spin.setValue(1.0)  # a much fatter face
    qtbot.waitUntil(lambda: view.canvas.frame is not first, timeout=20000)
    edited = view.canvas.frame
    assert (edited.mask > 0.5).sum() > (first.mask > 0.5).sum() * 1.02
    assert view.pose_label.text().startswith("edited head")
    view.before.setChecked(True)  # the prediction again
    qtbot.waitUntil(lambda: view.canvas.frame is not edited, timeout=20000)
    np.testing.assert_allclose(view.canvas.frame.mask, first.mask, atol=1e-4)
    assert view.pose_label.text().startswith("predicted head")


def test_overlay_without_a_photo_says_what_it_needs(make_window):
    window = make_window()
    window.show_overlay(True)
    assert window.overlay_view.canvas.frame is None
    assert "needs a photo" in window.overlay_view.canvas.placeholder
    window.overlay_view.back_button.click()
    assert window.head_stack.currentWidget() is window.head_view
    assert not window.overlay_action.isChecked()
