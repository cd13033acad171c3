"""Frame sources for live capture: camera, video file or generated frames -> a stream of `RGBImage`.

One interface: iterate a source (or call `read`) to get frames; the stream ends at the end of a
video or of a generated sequence. `cv2.VideoCapture` fails silently, so every failure is checked
and named: a camera that cannot be opened or delivers nothing raises `CameraError` when the source
is created, and a camera that stops delivering frames mid-session (unplugged) raises
`CameraError` from `read`, never an endless run of empty frames.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.face.image import RGBImage, to_rgb8


class CameraError(InputError):
    """A camera is absent, busy, or stopped delivering frames."""


class FrameSource(ABC):
    """A stream of RGB frames. Use as a context manager, or call `close` when done."""

    #: Names the source in messages and in each frame's `source`.
    name: str

    @abstractmethod
    def read(self) -> RGBImage | None:
        """The next frame, or None when the stream has ended normally."""

    @abstractmethod
    def close(self) -> None:
        """Release the device or file and end the stream (idempotent)."""

    def __iter__(self) -> Iterator[RGBImage]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """OpenCV logs a warning per failed backend while probing; we report failures ourselves."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)


class _CaptureSource(FrameSource):
    """Common `cv2.VideoCapture` handling; the first frame is read at once to prove the source works."""

    def __init__(self, capture: Any, name: str) -> None:
        self.name = name
        self._capture = capture
        self._count = 0
        self._pending = self._grab()

    def _grab(self) -> np.ndarray | None:
        ok, frame = self._capture.read()
        return frame if ok and frame is not None and frame.size else None

    def _next_pixels(self) -> np.ndarray | None:
        pixels = self._pending if self._pending is not None else self._grab()
        self._pending = None
        return pixels

    def _frame(self, bgr: np.ndarray) -> RGBImage:
        self._count += 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr.ndim == 3 and bgr.shape[2] == 3 else to_rgb8(bgr)
        return RGBImage(pixels=rgb, source=f"{self.name} frame {self._count}")

    def close(self) -> None:
        self._capture.release()


class CameraSource(_CaptureSource):
    """Live frames from camera `index`. CameraError if it is absent, busy, or unplugged mid-session.

    `open_capture(index)` returns a `cv2.VideoCapture`-like object (tests pass a fake one).
    """

    def __init__(self, index: int = 0, *, open_capture: Callable[[int], Any] = cv2.VideoCapture) -> None:
        with _quiet_opencv():
            capture = open_capture(index)
        name = f"camera {index}"
        if not capture.isOpened():
            capture.release()
            raise CameraError(f"{name}: no camera found, or another program is using it")
        super().__init__(capture, name)
        if self._pending is None:
            self.close()
            raise CameraError(f"{name}: opened but delivers no frames")

    def read(self) -> RGBImage:
        pixels = self._next_pixels()
        if pixels is None:
            raise CameraError(f"{self.name}: stopped delivering frames after {self._count} (unplugged?)")
        return self._frame(pixels)


class VideoFileSource(_CaptureSource):
    """Frames of a video file in order; the stream ends with the file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        with _quiet_opencv():
            capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise InputError(f"{path}: not a readable video")
        super().__init__(capture, path.name)
        if self._pending is None:
            self.close()
            raise InputError(f"{path}: not a readable video (no frame could be decoded)")

    @property
    def fps(self) -> float:
        """Frames per second stored in the file (0.0 if unknown)."""
        return float(self._capture.get(cv2.CAP_PROP_FPS))

    def read(self) -> RGBImage | None:
        pixels = self._next_pixels()
        return None if pixels is None else self._frame(pixels)


class GeneratedSource(FrameSource):
    """Frames made by `make_frame(i)` (any array `to_rgb8` accepts), i = 0, 1, ... up to `count`."""

    def __init__(self, make_frame: Callable[[int], np.ndarray], count: int | None = None,
                 name: str = "generated") -> None:
        self.name = name
        self._make_frame = make_frame
        self._count = count
        self._index = 0

    def read(self) -> RGBImage | None:
        if self._count is not None and self._index >= self._count:
            return None
        pixels = to_rgb8(self._make_frame(self._index))
        self._index += 1
        return RGBImage(pixels=pixels, source=f"{self.name} frame {self._index}")

    def close(self) -> None:
        self._count = self._index
