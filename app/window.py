"""The f2p-studio main window: photo, pipeline strip, 3D head (or the overlay on the photo) and the
parameter panel. The work is done by two controllers, `CaptureController` (photos, webcam, bursts, the pipeline
worker) and `DocumentController` (recipe and session files, exports, autosave), and the menus
(`actions.build_menus`). Controllers never see the window: each gets the state, the editor, the
settings and the window as its messages sink (`app.messages.Messages`); the window wires the
widgets' signals to them, lays everything out and reports errors.

Every action goes through `guarded`: an `F2PError` becomes a one-line status message and a
dialog; anything else is logged with its traceback and reported, never a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QPixmap, QUndoStack
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from app.actions import build_menus
from app.capture import CaptureController
from app.document import RECIPE_SUFFIXES, DocumentController
from app.edits import RecipeEditor
from app.fold_watch import QtFoldWatch
from app.images import photo_from_qimage
from app.live import QtLiveBar
from app.messages import guarded
from app.qt_head_view import QtHeadView
from app.qt_overlay import QtOverlayView
from app.qt_parameters import QtParameterPanel
from app.qt_photo import QtPipelineStrip, QtSourceView
from app.session import SESSION_SUFFIX
from app.settings import StudioSettings
from app.state import StudioState
from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.errors import F2PError

log = logging.getLogger(__name__)

__all__ = ["StudioWindow"]


class StudioWindow(QMainWindow):
    """The main window. `autosave_path=None` turns autosave off (screenshots, throwaway runs)."""

    def __init__(self, state: StudioState | None = None, *, settings: StudioSettings | None = None,
                 autosave_path: Path | None = None) -> None:
        super().__init__()
        self.state = state or StudioState()
        self.settings = settings or StudioSettings()
        self.undo_stack = QUndoStack(self)
        self.editor = RecipeEditor(self.state, self.undo_stack)
        self.editor.symmetry_lock = self.settings.flag("edit/symmetry_lock", True)
        self.capture = CaptureController(self.state, self.editor, self.settings, self, self)
        self.capture.file_requested.connect(lambda path: self.guarded(lambda: self.open_file(path)))

        self.source_view = QtSourceView(self.state)
        self.source_view.face_clicked.connect(lambda index: self.guarded(lambda: self.capture.choose_face(index)))
        self.live_bar = QtLiveBar(self.capture.live)
        self.live_bar.camera_button.clicked.connect(self.capture.set_camera)
        self.live_bar.capture_button.clicked.connect(lambda: self.guarded(self.capture.capture))
        self.live_bar.camera_index.valueChanged.connect(lambda index: setattr(self.capture, "camera_index", index))
        self.head_view = QtHeadView(self.state)
        self.overlay_view = QtOverlayView(self.state)
        self.head_view.overlay_button.toggled.connect(self.show_overlay)
        self.overlay_view.back_button.clicked.connect(lambda: self.show_overlay(False))
        self.strip = QtPipelineStrip(self.state)
        self.fold_watch = QtFoldWatch(self.state)
        self.panel = QtParameterPanel(self.state, self.editor, self.fold_watch)
        self.panel.refused.connect(self.warn)
        self.strip.adapter_chosen.connect(self.capture.adapter_chosen)
        #: The view the artist last chose (saved with a session).
        self.view = "front"
        self.document = DocumentController(self.state, self.editor, self.settings, self, self.capture, self,
                                           autosave_path=autosave_path, snapshot=self.head_view.snapshot,
                                           unshowable=self.panel.unshowable,
                                           view=lambda: (self.view, self.head_stack.currentWidget() is
                                                         self.overlay_view))
        self.document.view_requested.connect(self.set_view)
        self.document.overlay_requested.connect(self.show_overlay)
        self._build_layout()
        build_menus(self)
        self.timings = QLabel()
        self.statusBar().addPermanentWidget(self.timings)
        self.head_view.canvas.frame_drawn.connect(self._frame_drawn)
        self.setAcceptDrops(True)
        self.state.document_changed.connect(self._update_title)
        self._update_title()
        self._restore_settings()

    def _build_layout(self) -> None:
        source = QWidget()
        column = QVBoxLayout(source)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.source_view, 1)
        column.addWidget(self.live_bar)
        self.head_stack = QStackedWidget()
        self.head_stack.addWidget(self.head_view)
        self.head_stack.addWidget(self.overlay_view)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(source)
        top.addWidget(self.head_stack)
        top.setSizes([480, 600])
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(top)
        left.addWidget(self.strip)
        left.setSizes([680, 190])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.panel)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 1)  # a smaller window shrinks the views, not the sliders
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([1060, 460])
        self.splitter.setObjectName("main_splitter")
        self.setCentralWidget(self.splitter)
        self.resize(1520, 920)

    def set_view(self, view: str) -> None:
        """Front, three-quarter or side view of the head."""
        self.view = view
        self.head_view.set_view(view)

    def show_overlay(self, on: bool) -> None:
        """The fit check (head over the aligned photo) instead of the 3D view, or back."""
        self.head_stack.setCurrentWidget(self.overlay_view if on else self.head_view)
        self.overlay_view.set_active(on)
        for toggle in (self.head_view.overlay_button, self.overlay_action):
            if toggle.isChecked() != on:
                toggle.setChecked(on)

    def _frame_drawn(self, ms: float) -> None:
        self.timings.setText(f"mesh {self.state.mesh_ms:.1f} ms · normals {self.head_view.update_ms:.1f} ms · "
                             f"draw {ms:.1f} ms")

    # -- errors ------------------------------------------------------------------------------------
    def guarded(self, slot: Callable[[], object]) -> None:
        """Run an action; report what goes wrong instead of letting it escape."""
        guarded(self, slot)

    def report(self, exc: BaseException) -> None:
        """Status bar + non-blocking dialog; unexpected errors are also logged with their traceback."""
        if isinstance(exc, F2PError):
            log.warning("%s", exc)
            self.warn(str(exc))
        else:
            log.error("unexpected error", exc_info=exc)
            self.warn(f"Unexpected error: {type(exc).__name__}: {exc}")

    def warn(self, message: str) -> None:
        """A problem the artist must see: status bar + non-blocking dialog."""
        self.statusBar().showMessage(message, 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, "f2p-studio", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def say(self, message: str) -> None:
        self.statusBar().showMessage(message, 10000)

    def log_warning(self, message: str) -> None:
        log.warning("%s", message)

    # -- files -------------------------------------------------------------------------------------
    def open_file(self, path: Path) -> None:
        """A recipe, a session or a photo, chosen by suffix (drag and drop, recent files, command line)."""
        if path.suffix.lower() in RECIPE_SUFFIXES:
            self.document.open_recipe(path)
        elif path.suffix.lower() == SESSION_SUFFIX:
            self.document.open_session(path)
        else:
            self.capture.open_photo(path)

    def screenshot(self) -> QPixmap:
        """The whole window as the artist sees it, 3D view included."""
        grab = self.grab()
        self.head_view.paint_into(grab, self)
        return grab

    def focus_search(self) -> None:
        self.panel.search.setFocus()
        self.panel.search.selectAll()

    def _update_title(self) -> None:
        name = self.state.path.name if self.state.path else (self.state.recipe.name or "untitled")
        self.setWindowTitle(f"{name}[*] — f2p-studio")
        self.setWindowModified(self.state.dirty)

    # -- settings ----------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        if (geometry := self.settings.blob("window/geometry")) is not None:
            self.restoreGeometry(geometry)
        if (splitter := self.settings.blob("window/splitter")) is not None:
            self.splitter.restoreState(splitter)
        self.head_view.set_wireframe(self.settings.flag("view/wireframe", False))
        if (camera := self.settings.text("webcam/index", "0")).isdigit():
            self.live_bar.camera_index.setValue(int(camera))
        index = self.strip.adapter.findText(self.settings.text("pipeline/adapter", DEFAULT_ADAPTER))
        if index >= 0:
            self.strip.adapter.setCurrentIndex(index)
        self.capture.adapter = self.strip.adapter.currentText()
        self.capture.camera_index = self.live_bar.camera_index.value()

    def save_settings(self) -> None:
        self.settings.set_blob("window/geometry", self.saveGeometry())
        self.settings.set_blob("window/splitter", self.splitter.saveState())
        self.settings.set_flag("view/wireframe", self.head_view.wireframe_button.isChecked())
        self.settings.set_flag("edit/symmetry_lock", self.editor.symmetry_lock)
        self.settings.sync()

    # -- Qt events ---------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Never asks: unsaved work goes to the autosave files and comes back on the next start.

        A closed studio window is finished (it is never shown again).
        """
        self.document.close()
        self.capture.live.stop()
        self.overlay_view.close_renderer()
        self.fold_watch.close()
        self.panel.icons.close()
        self.save_settings()
        self.editor.detach()
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        files = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
        if files:
            self.guarded(lambda: self.open_file(files[0]))
        elif mime.hasImage():
            self.guarded(lambda: self.capture.set_photo(photo_from_qimage(mime.imageData(), "dropped image")))
        event.acceptProposedAction()
