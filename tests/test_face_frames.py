"""Frame sources: video file, generated frames, absent and unplugged cameras."""

import cv2
import numpy as np
import pytest

from f2p_engine.errors import InputError
from f2p_engine.face.frames import CameraError, CameraSource, GeneratedSource, VideoFileSource

COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40)]  # RGB


def _write_video(path, colours, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    assert writer.isOpened()
    for rgb in colours:
        writer.write(np.full((size[1], size[0], 3), rgb[::-1], np.uint8))  # OpenCV wants BGR
    writer.release()


def test_video_file_frames_in_order_as_rgb(tmp_path):
    _write_video(tmp_path / "clip.avi", COLOURS)
    with VideoFileSource(tmp_path / "clip.avi") as source:
        assert source.fps == pytest.approx(10.0)
        frames = list(source)
    assert len(frames) == len(COLOURS)
    for frame, rgb in zip(frames, COLOURS, strict=True):
        assert frame.pixels.shape == (48, 64, 3)
        assert np.abs(frame.pixels.reshape(-1, 3).mean(axis=0) - rgb).max() < 8
    assert frames[2].source == "clip.avi frame 3"


def test_video_file_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        VideoFileSource(tmp_path / "missing.avi")
    (tmp_path / "notes.avi").write_text("not a video\n")
    with pytest.raises(InputError, match="not a readable video"):
        VideoFileSource(tmp_path / "notes.avi")


def test_generated_frames_normalised_and_finite():
    source = GeneratedSource(lambda i: np.full((8, 8), i / 4.0), count=3, name="ramp")
    frames = list(source)
    assert [int(f.pixels[0, 0, 0]) for f in frames] == [0, 64, 128]
    assert frames[0].pixels.shape == (8, 8, 3)
    assert source.read() is None
    endless = GeneratedSource(lambda i: np.zeros((2, 2, 3), np.uint8))
    assert endless.read() is not None
    endless.close()
    assert endless.read() is None


def test_absent_camera_is_a_clear_error():
    with pytest.raises(CameraError, match="camera 97: no camera found"):
        CameraSource(97)


class _FakeCapture:
    """A VideoCapture stand-in that delivers `frames` BGR frames, then fails like an unplugged camera."""

    def __init__(self, frames, opened=True):
        self.frames, self.opened, self.released = frames, opened, False

    def isOpened(self):  # OpenCV's name
        return self.opened

    def read(self):
        if self.frames == 0:
            return False, None
        self.frames -= 1
        return True, np.zeros((6, 8, 3), np.uint8)

    def release(self):
        self.released = True


def test_unplugged_camera_ends_with_a_message_not_empty_frames():
    capture = _FakeCapture(frames=3)
    source = CameraSource(0, open_capture=lambda index: capture)
    seen = []
    with pytest.raises(CameraError, match=r"camera 0: stopped delivering frames after 3 \(unplugged\?\)"):
        seen.extend(source)
    assert len(seen) == 3
    source.close()
    assert capture.released


def test_camera_that_opens_but_never_delivers():
    capture = _FakeCapture(frames=0)
    with pytest.raises(CameraError, match="delivers no frames"):
        CameraSource(1, open_capture=lambda index: capture)
    assert capture.released
