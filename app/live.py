"""Live webcam preview: an engine `FrameSource` read in a thread, frames shown in the source view.

`LiveFeed` opens the source in its reader thread (opening a camera can take a second), pushes
every frame to `state.live_frame` on the GUI thread, and keeps the last `BURST` frames for a
capture. The reader is a plain joinable thread rather than a pool worker: stopping must release
the camera before a new feed opens it again. A camera that is absent or stops delivering frames
(unplugged) ends the feed with the engine's `CameraError` message; a video file ends normally.

`QtLiveBar` is the row of controls under the source view: camera on/off, camera number, capture.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from app.state import Photo, StudioState
from f2p_engine.errors import F2PError

if TYPE_CHECKING:  # the frame sources import OpenCV: not at start-up
    from f2p_engine.face.frames import FrameSource

log = logging.getLogger(__name__)

#: Frames a capture combines (about a quarter of a second of a 30 fps camera).
BURST = 8
#: Longest wait for the reader thread to let go of the camera.
_JOIN_TIMEOUT_S = 3.0
#: Frames on their way to the GUI thread at most; a busy GUI drops frames instead of queueing them all.
_IN_FLIGHT = 2


class LiveFeed(QObject):
    """One frame source at a time, read in a thread; frames land in `state.live_frame`."""

    #: The feed started (True) or ended (False).
    running_changed = Signal(bool)
    #: The feed ended because of a problem (its message: camera absent, unplugged...).
    failed = Signal(str)
    #: (feed id, Photo) from the reader thread; queued to the GUI thread.
    _frame_read = Signal(int, object)
    #: (feed id, problem or "") from the reader thread when it ends.
    _ended = Signal(int, str)

    def __init__(self, state: StudioState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.recent: deque[Photo] = deque(maxlen=BURST)
        self._feed_id = 0
        self._stop = threading.Event()
        self._in_flight = threading.Semaphore(_IN_FLIGHT)
        self._thread: threading.Thread | None = None
        self._frame_read.connect(self._show_frame)
        self._ended.connect(self._finish)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, open_source: Callable[[], FrameSource], fps: float | None = None) -> None:
        """Stop any current feed, then read `open_source()` in a thread (paced to `fps` if given:
        a video file plays at its own rate, a camera delivers at its own)."""
        self.stop()
        self._feed_id += 1
        self._stop = threading.Event()
        self._in_flight = threading.Semaphore(_IN_FLIGHT)
        self.recent.clear()
        self._thread = threading.Thread(target=self._read, name="f2p-live-feed", daemon=True,
                                        args=(self._feed_id, open_source, fps, self._stop, self._in_flight))
        self._thread.start()
        self.running_changed.emit(True)

    def stop(self) -> None:
        """End the feed and release the source; the last frames stay available for a capture."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(_JOIN_TIMEOUT_S)
        if self._thread.is_alive():
            log.warning("the frame source did not stop within %.0f s", _JOIN_TIMEOUT_S)
        self._thread = None
        self._feed_id += 1  # frames still queued from the old feed are dropped
        self.running_changed.emit(False)

    def _read(self, feed_id: int, open_source: Callable[[], FrameSource], fps: float | None,
              stop: threading.Event, in_flight: threading.Semaphore) -> None:
        problem = ""
        try:
            with open_source() as source:
                due = time.monotonic()
                while not stop.is_set() and (frame := source.read()) is not None:
                    if in_flight.acquire(blocking=False):
                        self._frame_read.emit(feed_id, Photo(name=frame.source, pixels=frame.pixels))
                    if fps:
                        due += 1.0 / fps
                        stop.wait(max(0.0, due - time.monotonic()))
        except F2PError as exc:
            problem = str(exc)
        except Exception as exc:  # a driver failure must end the feed, not kill the app
            log.exception("the frame source failed")
            problem = f"the frame source failed: {type(exc).__name__}: {exc}"
        self._ended.emit(feed_id, problem)

    def _show_frame(self, feed_id: int, photo: Photo) -> None:
        if feed_id == self._feed_id:
            self._in_flight.release()
            self.recent.append(photo)
            self.state.set_live_frame(photo)

    def _finish(self, feed_id: int, problem: str) -> None:
        if feed_id != self._feed_id:
            return
        self._thread = None
        self.running_changed.emit(False)
        if problem:
            self.failed.emit(problem)


class QtLiveBar(QWidget):
    """Camera on/off, camera number and the capture button, under the source view."""

    def __init__(self, feed: LiveFeed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.feed = feed
        self.camera_button = QPushButton("Camera")
        self.camera_button.setCheckable(True)
        self.camera_button.setToolTip("Live preview from the webcam (Ctrl+K)")
        self.camera_index = QSpinBox()
        self.camera_index.setRange(0, 9)
        self.camera_index.setPrefix("#")
        self.camera_index.setToolTip("Which camera (0 is the first)")
        self.capture_button = QPushButton("Capture")
        self.capture_button.setToolTip(f"Predict from the last {BURST} frames, combined by confidence (Ctrl+Space)")
        self.capture_button.setEnabled(False)
        self.status = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.camera_button)
        layout.addWidget(self.camera_index)
        layout.addWidget(self.capture_button)
        layout.addWidget(self.status, 1)
        feed.running_changed.connect(self._running_changed)
        feed.state.live_frame_changed.connect(self._frame_changed)

    def _running_changed(self, running: bool) -> None:
        self.camera_button.setChecked(running)
        self.camera_index.setEnabled(not running)
        self.status.setText("live" if running else "")

    def _frame_changed(self, frame: Photo | None) -> None:
        self.capture_button.setEnabled(frame is not None and bool(self.feed.recent))
