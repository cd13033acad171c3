"""Fit check: the head drawn over the aligned photo, at the photo's head pose and framing.

The engine does the work (`face.pose.render_fitted`: pose estimated from the photo's landmarks and
the head's mesh landmarks, head drawn by the dataset renderer, moved onto the face), so the overlay
shows the head exactly as the models' training renders look. The renderer owns an EGL context,
which must stay current on one thread: it lives on a dedicated render thread, and only the newest
request is drawn. An opacity slider blends head and photo; a split wipe shows the bare photo left
of the split line; "Before" shows the prediction instead of the edited head.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from app.images import rgb_to_qimage
from app.state import StudioState
from f2p_engine.errors import F2PError
from f2p_engine.recipe import Recipe
from f2p_engine.render.scene import appearance_of

log = logging.getLogger(__name__)

#: Side of the overlay image: the aligned photo (256 px) upscaled, the head rendered at this size.
OVERLAY_SIZE = 512
_WIPE_LINE = QColor(255, 200, 60)


@dataclass(frozen=True, slots=True, kw_only=True)
class OverlayRequest:
    """One fit-check drawing: hm08 `vertices` of `recipe`, over `photo` (S, S, 3) with `landmarks` (68, 2)."""

    id: int
    recipe: Recipe
    vertices: np.ndarray = field(repr=False)
    photo: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class OverlayFrame:
    """`photo` and `head` (S, S, 3) uint8 RGB, `mask` (S, S) float32 head coverage; the pose found."""

    request_id: int
    photo: np.ndarray = field(repr=False)
    head: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    yaw: float
    pitch: float
    roll: float


class OverlayRenderer(QObject):
    """The engine renderer on its own thread; emits `drawn(OverlayFrame)` or `failed(message)`."""

    drawn = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="f2p-overlay")
        self._renderer = None
        self._lock = threading.Lock()
        self._pending: OverlayRequest | None = None
        self._scheduled = False
        self.latest = 0

    def request(self, request: OverlayRequest) -> None:
        """Draw `request` soon; a request still waiting is replaced (only the newest is drawn)."""
        self.latest = request.id
        with self._lock:
            self._pending = request
            if self._scheduled:
                return
            self._scheduled = True
        self._thread.submit(self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                request, self._pending = self._pending, None
                if request is None:
                    self._scheduled = False
                    return
            try:
                self.drawn.emit(self._draw(request))
            except F2PError as exc:
                self.failed.emit(str(exc))
            except Exception as exc:  # a GL failure must not kill the app: the overlay says so
                log.exception("overlay drawing failed")
                self.failed.emit(f"the overlay could not be drawn: {type(exc).__name__}: {exc}")

    def _draw(self, request: OverlayRequest) -> OverlayFrame:
        import cv2  # here, on the overlay's thread: not at start-up

        from f2p_engine.face.pose import render_fitted
        from f2p_engine.render.renderer import Renderer

        if self._renderer is None:
            self._renderer = Renderer(size=OVERLAY_SIZE)
        scale = OVERLAY_SIZE / request.photo.shape[0]
        photo = cv2.resize(request.photo, (OVERLAY_SIZE, OVERLAY_SIZE), interpolation=cv2.INTER_CUBIC)
        rendering, estimate = render_fitted(self._renderer, request.vertices, request.landmarks * scale,
                                            appearance=appearance_of(request.recipe))
        mask = (rendering.labels > 0).astype(np.float32)
        mask = cv2.GaussianBlur(mask, (3, 3), 0)  # soften the silhouette's stair steps
        pose = estimate.pose
        return OverlayFrame(request_id=request.id, photo=photo, head=rendering.image, mask=mask, yaw=pose.yaw,
                            pitch=pose.pitch, roll=pose.roll)

    def close(self) -> None:
        """Stop the thread (the renderer's context goes with the process)."""
        self._thread.shutdown(wait=True, cancel_futures=True)


class OverlayCanvas(QWidget):
    """Photo and head blended by `opacity`, the bare photo left of `split` (0..1 of the width)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame: OverlayFrame | None = None
        self.opacity = 0.6
        self.split = 0.0
        self.placeholder = ""
        self.setMinimumSize(240, 240)
        self._composite: np.ndarray | None = None

    def set_frame(self, frame: OverlayFrame | None) -> None:
        self.frame = frame
        self._recompose()

    def set_mix(self, opacity: float, split: float) -> None:
        self.opacity, self.split = opacity, split
        self._recompose()

    def composite(self) -> np.ndarray | None:
        """(S, S, 3) uint8 RGB of what is shown, or None without a frame."""
        return self._composite

    def _recompose(self) -> None:
        if self.frame is None:
            self._composite = None
        else:
            alpha = self.frame.mask[:, :, None] * self.opacity
            mixed = self.frame.photo * (1.0 - alpha) + self.frame.head * alpha
            split_column = round(self.split * mixed.shape[1])
            mixed[:, :split_column] = self.frame.photo[:, :split_column]
            self._composite = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(46, 48, 54))
        if self._composite is None:
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        side = min(self.width(), self.height())
        target = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, rgb_to_qimage(self._composite))
        if self.split > 0:
            painter.setPen(QPen(_WIPE_LINE, 2))
            x = target.x() + self.split * side
            painter.drawLine(int(x), int(target.top()), int(x), int(target.bottom()))


class QtOverlayView(QWidget):
    """The fit check: canvas, opacity and wipe sliders, before/after toggle, the pose found, back to 3D."""

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.renderer = OverlayRenderer(self)
        self.renderer.drawn.connect(self._drawn)
        self.renderer.failed.connect(self._failed)
        self.canvas = OverlayCanvas()
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setToolTip("How much of the head covers the photo")
        self.wipe = QSlider(Qt.Orientation.Horizontal)
        self.wipe.setRange(0, 100)
        self.wipe.setToolTip("Split wipe: the bare photo left of the line")
        self.before = QCheckBox("Before (predicted)")
        self.before.setToolTip("Show the prediction instead of the edited head")
        self.back_button = QPushButton("3D view")
        self.pose_label = QLabel()
        for slider in (self.opacity, self.wipe):
            slider.valueChanged.connect(self._mix_changed)
        self.before.toggled.connect(lambda _on: self.refresh())
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Opacity"))
        controls.addWidget(self.opacity, 1)
        controls.addWidget(QLabel("Wipe"))
        controls.addWidget(self.wipe, 1)
        controls.addWidget(self.before)
        controls.addWidget(self.back_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.pose_label)
        layout.addLayout(controls)
        self.active = False
        self._next_id = 0
        for signal in (state.mesh_changed, state.analysis_changed, state.predicted_changed):
            signal.connect(lambda *_: self.refresh())

    def set_active(self, on: bool) -> None:
        """Draw only while shown (a slider drag would otherwise render heads nobody sees)."""
        self.active = on
        self.refresh()

    def refresh(self) -> None:
        """Ask for a new drawing of the current (or predicted) head over the current aligned photo."""
        if not self.active:
            return
        analysis = self.state.analysis
        if analysis is None or analysis.aligned is None or analysis.aligned_landmarks is None:
            self.canvas.placeholder = "The fit check needs a photo with a face: open one (Ctrl+O)."
            self.canvas.set_frame(None)
            self.pose_label.setText("")
            return
        recipe = self.state.recipe
        if self.before.isChecked() and self.state.predicted is not None:
            recipe = self.state.predicted
        vertices = (self.state.vertices if recipe is self.state.recipe
                    else self.state.head_model.vertices(recipe.modifiers))
        self._next_id += 1
        self.renderer.request(OverlayRequest(id=self._next_id, recipe=recipe, vertices=vertices,
                                             photo=analysis.aligned, landmarks=analysis.aligned_landmarks))

    def _drawn(self, frame: OverlayFrame) -> None:
        if frame.request_id != self.renderer.latest:
            return
        self.canvas.set_frame(frame)
        which = "predicted" if self.before.isChecked() and self.state.predicted is not None else "edited"
        self.pose_label.setText(f"{which} head at the photo's pose: yaw {frame.yaw:+.0f}°, pitch {frame.pitch:+.0f}°, "
                                f"roll {frame.roll:+.0f}°")

    def _failed(self, message: str) -> None:
        self.canvas.placeholder = message
        self.canvas.set_frame(None)

    def _mix_changed(self) -> None:
        self.canvas.set_mix(self.opacity.value() / 100, self.wipe.value() / 100)

    def close_renderer(self) -> None:
        self.renderer.close()
