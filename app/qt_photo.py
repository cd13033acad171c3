"""The photo side of the window: the source photo with its landmarks, every face found outlined
(click one to use it) and a banner ("face 2 of 3", or why there is no head), and the pipeline strip
(aligned, stylised and per-region crops) that says once, in its header, why it is empty."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app import photo_pipeline as pipeline
from app.images import rgb_to_qimage
from app.state import Photo, PhotoAnalysis, StudioState
from f2p_engine.headmodel.schema import LOCAL_REGIONS

_LANDMARK = QColor(60, 230, 120)
_PLACEHOLDER = QColor(150, 150, 150)
_FRAME = QColor(90, 90, 90)
_FACE = QColor(255, 200, 60)
_OTHER_FACE = QColor(200, 200, 200)
_BANNER = QColor(40, 44, 52, 220)
_PROBLEM = QColor(150, 40, 40, 230)
_BADGE = QColor(40, 44, 52, 230)
_BADGE_TEXT_PX = 16


class ImageTile(QWidget):
    """An image scaled to fit with an optional caption and point overlay, or a placeholder text."""

    def __init__(self, caption: str = "", placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.placeholder = placeholder
        self.image: QImage | None = None
        self.points: np.ndarray | None = None
        self._target, self._scale = QRectF(), 1.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, pixels: np.ndarray | None, points: np.ndarray | None = None,
                  placeholder: str | None = None) -> None:
        """Show (H, W, 3) uint8 RGB `pixels` with (N, 2) pixel `points`, or `placeholder` text if None."""
        self.image = None if pixels is None else rgb_to_qimage(pixels)
        self.points = points
        if placeholder is not None:
            self.placeholder = placeholder
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        area = QRectF(self.rect()).adjusted(2, 2, -2, -2)
        if self.caption:
            painter.setPen(self.palette().text().color())
            caption_height = painter.fontMetrics().height() + 2
            painter.drawText(area.adjusted(0, 0, 0, -area.height() + caption_height),
                             Qt.AlignmentFlag.AlignHCenter, self.caption)
            area.adjust(0, caption_height, 0, 0)
        if self.image is None:
            painter.setPen(_FRAME)
            painter.drawRect(area)
            painter.setPen(_PLACEHOLDER)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        scale = min(area.width() / self.image.width(), area.height() / self.image.height())
        width, height = self.image.width() * scale, self.image.height() * scale
        target = QRectF(area.x() + (area.width() - width) / 2, area.y() + (area.height() - height) / 2,
                        width, height)
        painter.drawImage(target, self.image)
        self._target, self._scale = target, scale
        self.paint_over(painter, target, scale)
        if self.points is not None:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_LANDMARK)
            radius = max(1.5, 0.006 * max(width, height))
            for x, y in self.points:
                painter.drawEllipse(QPointF(target.x() + x * scale, target.y() + y * scale), radius, radius)


    def paint_over(self, painter: QPainter, target: QRectF, scale: float) -> None:
        """Draw on top of the image (image pixels map to `target` at `scale`); nothing here."""

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        """Widget coordinates -> image pixel coordinates of the last painted image."""
        return (x - self._target.x()) / self._scale, (y - self._target.y()) / self._scale


def _draw_badge(painter: QPainter, corner: QPointF, text: str, chosen: bool) -> None:
    """A face's number in a filled rounded badge on its box's top-left corner, bold and large enough
    to read over any photo."""
    painter.save()
    font = painter.font()
    font.setPixelSize(_BADGE_TEXT_PX)
    font.setBold(True)
    painter.setFont(font)
    side = max(painter.fontMetrics().horizontalAdvance(text) + 10, painter.fontMetrics().height() + 4)
    badge = QRectF(corner.x(), corner.y(), side, painter.fontMetrics().height() + 4)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(_FACE if chosen else _BADGE)
    painter.drawRoundedRect(badge, 4, 4)
    painter.setPen(QColor(20, 20, 20) if chosen else QColor(255, 255, 255))
    painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


class QtSourceView(ImageTile):
    """The source photo, with the detected landmarks on top once the pipeline has run, or the live
    webcam frame while the preview runs. Every face found is outlined; a click on one emits
    `face_clicked(index)`. A banner says which face is used, or why there is no head."""

    #: The artist clicked face `index` (largest first) of the photo.
    face_clicked = Signal(int)

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(placeholder="No photo.\nOpen one (Ctrl+O), drop it here, paste it (Ctrl+V)\n"
                                     "or start the camera (Ctrl+K).",
                         parent=parent)
        self.setMinimumSize(240, 240)
        self.state = state
        state.photo_changed.connect(self._show)
        state.analysis_changed.connect(self._show)
        state.live_frame_changed.connect(self._show)
        self._show()

    def _show(self, *_: object) -> None:
        live, photo, analysis = self.state.live_frame, self.state.photo, self.state.analysis
        if live is not None:
            self.caption = "live"
            self.set_image(live.pixels)
            return
        self.caption = ""
        self.set_image(None if photo is None else photo.pixels,
                       None if analysis is None else analysis.landmarks)

    @property
    def banner(self) -> str:
        """"face 2 of 3 …", or the reason there is no head ("… no face found …"), or ""."""
        analysis = self.state.analysis
        if self.state.live_frame is not None or analysis is None:
            return ""
        return analysis.note

    def paint_over(self, painter: QPainter, target: QRectF, scale: float) -> None:
        analysis = self.state.analysis
        if self.state.live_frame is None and analysis is not None:
            for index, (x0, y0, x1, y1) in enumerate(analysis.faces):
                chosen = index == analysis.face
                painter.setPen(QPen(_FACE if chosen else _OTHER_FACE, 3 if chosen else 1.5,
                                    Qt.PenStyle.SolidLine if chosen else Qt.PenStyle.DashLine))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                box = QRectF(target.x() + x0 * scale, target.y() + y0 * scale, (x1 - x0) * scale, (y1 - y0) * scale)
                painter.drawRect(box)
                if len(analysis.faces) > 1:
                    _draw_badge(painter, box.topLeft(), str(analysis.number(index)), chosen)
        if text := self.banner:
            problem = analysis is not None and analysis.landmarks is None
            strip = QRectF(target.x(), target.y(), target.width(), painter.fontMetrics().height() + 10)
            painter.fillRect(strip, _PROBLEM if problem else _BANNER)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(strip.adjusted(6, 0, -6, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             text)

    def face_at(self, x: float, y: float) -> int | None:
        """Index of the face whose box holds widget point (x, y) (the smallest such box), or None."""
        analysis = self.state.analysis
        if analysis is None or self.image is None or self.state.live_frame is not None:
            return None  # the live view shows no boxes: nothing to click
        px, py = self.to_image(x, y)
        hits = [(bx1 - bx0, i) for i, (bx0, by0, bx1, by1) in enumerate(analysis.faces)
                if bx0 <= px <= bx1 and by0 <= py <= by1]
        return min(hits)[1] if hits else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.face_at(event.position().x(), event.position().y())
        if index is not None and event.button() == Qt.MouseButton.LeftButton:
            self.face_clicked.emit(index)
        super().mousePressEvent(event)


class QtPipelineStrip(QWidget):
    """Aligned, stylised and per-region crops in a row, plus the adapter choice."""

    #: The artist picked another adapter (its name).
    adapter_chosen = Signal(str)

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.tiles: dict[str, ImageTile] = {name: ImageTile(name) for name in ("aligned", "stylised",
                                                                              *LOCAL_REGIONS)}
        self.adapter = QComboBox()
        self.adapter.setToolTip("Domain adapter: moves the photo toward the look of the training renders")
        for index, (name, description) in enumerate(pipeline.adapters().items()):
            self.adapter.addItem(name)
            self.adapter.setItemData(index, description, Qt.ItemDataRole.ToolTipRole)
        self.adapter.currentTextChanged.connect(self.adapter_chosen)
        self.note = QLabel()
        self.note.setObjectName("strip_note")
        header = QHBoxLayout()
        header.addWidget(QLabel("Pipeline"))
        header.addWidget(self.note, 1)
        header.addStretch(1)
        header.addWidget(QLabel("Adapter"))
        header.addWidget(self.adapter)
        row = QHBoxLayout()
        row.setSpacing(4)
        for tile in self.tiles.values():
            tile.setMinimumSize(72, 90)
            row.addWidget(tile)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 4)
        layout.addLayout(header)
        layout.addLayout(row, 1)
        state.photo_changed.connect(self._show)
        state.analysis_changed.connect(self._show)
        self._show()

    def _show(self, *_: object) -> None:
        analysis = self.state.analysis
        images = {} if analysis is None else {"aligned": analysis.aligned, "stylised": analysis.stylised,
                                               **analysis.crops}
        placeholder, note = _placeholder(self.state.photo, analysis)
        self.note.setText(note)
        for name, tile in self.tiles.items():
            tile.set_image(images.get(name), placeholder=placeholder)


def _placeholder(photo: Photo | None, analysis: PhotoAnalysis | None) -> tuple[str, str]:
    """(what each empty tile says, the strip's one note): a failure is said once, not in every tile."""
    if photo is None:
        return "no photo", ""
    if analysis is None:
        return "analysing…", ""
    if analysis.aligned is None:
        return "—", analysis.note
    return "not available", ""
