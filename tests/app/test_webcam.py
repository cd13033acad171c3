"""Webcam: live preview from a frame source, burst capture combined by confidence, camera failures.

The live path runs on a real video file (`VideoFileSource`); absent and unplugged cameras go
through the engine's `CameraSource`. The burst weighting is checked against a deterministic double
of the ensemble (known confidences per frame); one test runs the shipped models on a photo and then
on a burst in the same process (dlib's descriptor, its former run time, used to hang there).
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from app_doubles import colours_read, prediction_of
from skimage import data

from app.live import BURST
from f2p_engine.face.frames import CameraSource, GeneratedSource
from f2p_engine.headmodel import schema
from f2p_engine.recipe import Recipe

VIDEO_FRAMES = 12
NOSE = "nose/nose-trans-down|up"


@pytest.fixture
def astronaut_video(tmp_path: Path) -> Path:
    """12 frames of the astronaut drifting a few pixels to the right, MJPG at 24 fps."""
    path = tmp_path / "astronaut.avi"
    bgr = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 24.0, (512, 512))
    assert writer.isOpened()
    for i in range(VIDEO_FRAMES):
        writer.write(np.roll(bgr, 2 * i, axis=1))
    writer.release()
    return path


class _BurstDouble:
    """The ensemble for frame k of a burst: nose value k / 10, nose confidence peaking at frame 3."""

    def __init__(self) -> None:
        self.calls = 0

    def predict_aligned(self, image: np.ndarray, landmarks: np.ndarray, base=None, *, reading=None):
        k = self.calls
        self.calls += 1
        recipe = Recipe().with_values({NOSE: k / 10})
        confidence = dict.fromkeys(schema.REGIONS, 0.5) | {"nose": 1.0 - abs(k - 3) / BURST}
        return prediction_of(recipe, confidence, colours_read(reading))


def _play(window, video: Path, qtbot) -> None:
    window.capture.play_video(video)
    assert window.capture.live.running
    qtbot.waitUntil(lambda: window.source_view.caption == "live", timeout=5000)
    assert window.live_bar.camera_button.isChecked()
    qtbot.waitUntil(lambda: not window.capture.live.running, timeout=10000)  # the video ends


def test_video_plays_as_live_preview_and_capture_combines_the_burst(make_window, astronaut_video, qtbot):
    double = _BurstDouble()
    window = make_window(load_predictor=lambda: double)
    _play(window, astronaut_video, qtbot)
    frames = list(window.capture.live.recent)
    numbers = [int(f.name.removeprefix("astronaut.avi frame ")) for f in frames]
    # The newest frames in order (a GUI thread that falls behind may skip some).
    assert len(frames) == BURST
    assert numbers == sorted(numbers)
    assert numbers[-1] == VIDEO_FRAMES
    assert window.source_view.image is not None
    assert window.live_bar.capture_button.isEnabled()

    window.capture.capture()
    assert window.state.live_frame is None
    assert window.source_view.caption == ""
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=30000)
    assert f"{BURST} of {BURST} frames: predicted in" in window.statusBar().currentMessage()
    assert not window.undo_stack.canUndo()  # the capture's prediction starts its history
    assert window.state.analysis.landmarks.shape == (68, 2)
    assert window.source_view.points is window.state.analysis.landmarks
    assert window.state.photo in frames
    weights = np.array([1.0 - abs(k - 3) / BURST for k in range(BURST)])
    expected = weights @ (np.arange(BURST) / 10) / weights.sum()
    assert window.state.recipe.value(NOSE) == pytest.approx(expected)
    assert window.state.photo is frames[3]  # the frame the models were surest of is shown
    assert window.panel.sections["nose"].text().endswith(f"confidence {np.mean(weights):.0%}")


def test_shipped_models_predict_a_photo_then_a_burst(make_window, astronaut_video, tmp_path, qtbot):
    """The real ensemble (identity member included) twice in one process: a photo, then a webcam burst."""
    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), data.astronaut()[:, :, ::-1])
    window = make_window()
    window.capture.open_photo(photo)
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=60000)
    first = window.state.predicted
    _play(window, astronaut_video, qtbot)
    window.capture.capture()
    qtbot.waitUntil(lambda: window.state.predicted is not first and window.state.predicted is not None,
                    timeout=60000)
    assert f"{BURST} of {BURST} frames: predicted in" in window.statusBar().currentMessage()
    # The same face a few pixels apart: the burst agrees with the photo on the whole.
    values = [(first.value(p.name), window.state.predicted.value(p.name)) for p in schema.CONTINUOUS]
    assert np.mean([abs(a - b) for a, b in values]) < 0.1


def test_capture_needs_frames(make_window):
    window = make_window()
    window.guarded(window.capture.capture)
    assert "start the webcam preview" in window.statusBar().currentMessage()


def test_absent_camera_is_reported(make_window, qtbot):
    window = make_window()
    window.live_bar.camera_index.setValue(9)
    window.live_bar.camera_button.click()
    qtbot.waitUntil(lambda: not window.capture.live.running, timeout=10000)
    assert "camera 9: no camera found" in window.statusBar().currentMessage()
    assert not window.live_bar.camera_button.isChecked()
    assert not window.camera_action.isChecked()
    assert window.settings.text("webcam/index") == "9"


class _UnpluggedCapture:
    """A cv2.VideoCapture stand-in: `frames` astronaut frames, then nothing (the cable is pulled)."""

    def __init__(self, frames: int) -> None:
        self.left = frames

    def isOpened(self) -> bool:
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.left -= 1
        return (True, data.astronaut()[:, :, ::-1].copy()) if self.left >= 0 else (False, None)

    def release(self) -> None:
        self.left = 0


def test_camera_unplugged_mid_session_says_so_and_keeps_the_frames(make_window, qtbot):
    window = make_window()
    window.capture.live.start(lambda: CameraSource(0, open_capture=lambda _index: _UnpluggedCapture(3)), fps=50)
    qtbot.waitUntil(lambda: not window.capture.live.running, timeout=10000)
    message = window.statusBar().currentMessage()
    assert "camera 0: stopped delivering frames after 3 (unplugged?)" in message
    assert len(window.capture.live.recent) == 3  # what arrived before can still be captured
    assert window.live_bar.capture_button.isEnabled()
    window.capture.stop_camera()
    assert window.source_view.caption == ""


def test_a_stalled_gui_drops_frames_instead_of_queueing_them(make_window, qtbot):
    window = make_window()
    shown = []
    window.state.live_frame_changed.connect(lambda frame: shown.append(frame) if frame is not None else None)
    window.capture.live.start(lambda: GeneratedSource(lambda i: np.full((64, 64, 3), i % 256, np.uint8), count=200))
    time.sleep(0.5)  # the GUI thread is busy while the reader produces all 200 frames
    qtbot.waitUntil(lambda: not window.capture.live.running, timeout=10000)
    assert 1 <= len(shown) <= 5
