"""The f2p-studio main window: photo, pipeline strip, 3D head and parameter panel, with the actions.

Every action that touches files goes through `guarded`: an `F2PError` becomes a one-line status
message and a dialog; anything else is logged with its traceback and reported, never a crash.
Saves are atomic (the engine writes to a temporary name, then renames), and the current recipe
is autosaved while it has unsaved changes; a session that ended with unsaved changes is
restored on the next start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeySequence,
    QPixmap,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app import pipeline
from app.edits import RecipeEditor
from app.images import photo_from_qimage
from app.live import LiveFeed, QtLiveBar
from app.qt_head_view import VIEW_AZIMUTH, QtHeadView
from app.qt_parameters import QtParameterPanel
from app.qt_photo import QtPipelineStrip, QtSourceView
from app.settings import StudioSettings
from app.state import Photo, StudioState
from app.workers import LatestOnly
from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.errors import F2PError, InputError
from f2p_engine.face.frames import CameraSource, VideoFileSource
from f2p_engine.files import atomic_output
from f2p_engine.headmodel.export import HEAD_FORMATS, export_head
from f2p_engine.recipe import read_recipe, write_json, write_mhm

log = logging.getLogger(__name__)

RECIPE_SUFFIXES = (".mhm", ".json")
_RECIPE_FILTER = "MakeHuman recipe (*.mhm);;f2p recipe JSON (*.json);;All files (*)"
_PHOTO_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp);;All files (*)"
_MESH_FILTER = "Wavefront OBJ (*.obj);;glTF binary (*.glb);;Stanford PLY (*.ply)"
_VIDEO_FILTER = "Videos (*.avi *.mp4 *.mkv *.mov *.webm);;All files (*)"
#: Playback rate of a video whose file does not say.
_DEFAULT_VIDEO_FPS = 25.0
_AUTOSAVE_DELAY_MS = 1500


def default_autosave_path() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "autosave.mhm"


class StudioWindow(QMainWindow):
    """The main window. `autosave_path=None` turns autosave off (screenshots, throwaway runs)."""

    def __init__(self, state: StudioState | None = None, *, settings: StudioSettings | None = None,
                 autosave_path: Path | None = None) -> None:
        super().__init__()
        self.state = state or StudioState()
        self.settings = settings or StudioSettings()
        self.autosave_path = autosave_path
        self.undo_stack = QUndoStack(self)
        self.editor = RecipeEditor(self.state, self.undo_stack)
        self.editor.symmetry_lock = self.settings.flag("edit/symmetry_lock", True)
        self.photo_runner = LatestOnly(pipeline.process_photos, self)
        self.photo_runner.finished.connect(self._photo_processed)
        self.photo_runner.failed.connect(lambda _id, exc: self.report(exc))
        #: The photos of the last pipeline run (one photo, or a webcam burst), re-run on an adapter change.
        self._analysed: tuple[Photo, ...] = ()
        self.live = LiveFeed(self.state, self)
        self.live.failed.connect(self.warn)

        self.source_view = QtSourceView(self.state)
        self.live_bar = QtLiveBar(self.live)
        self.live_bar.camera_button.clicked.connect(self.set_camera)
        self.live_bar.capture_button.clicked.connect(lambda: self.guarded(self.capture))
        self.head_view = QtHeadView(self.state)
        self.strip = QtPipelineStrip(self.state)
        self.panel = QtParameterPanel(self.state, self.editor)
        self.strip.adapter_chosen.connect(self._adapter_chosen)
        self._build_layout()
        self._build_actions()
        self._build_status_bar()
        self.setAcceptDrops(True)

        self._autosave_timer = QTimer(self, singleShot=True, interval=_AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self.state.recipe_changed.connect(lambda _r: self._autosave_timer.start())
        self.state.document_changed.connect(self._update_title)
        self._update_title()
        self._restore_settings()

    # -- construction ------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        source = QWidget()
        column = QVBoxLayout(source)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.source_view, 1)
        column.addWidget(self.live_bar)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(source)
        top.addWidget(self.head_view)
        top.setSizes([480, 600])
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(top)
        left.addWidget(self.strip)
        left.setSizes([680, 190])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.panel)
        self.splitter.setSizes([1060, 460])
        self.splitter.setObjectName("main_splitter")
        self.setCentralWidget(self.splitter)
        self.resize(1520, 920)

    def _action(self, text: str, slot: Callable[[], object], shortcut: QKeySequence | str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: self.guarded(slot))
        return action

    def _build_actions(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self.open_photo_action = self._action("Open &Photo…", self.open_photo_dialog, QKeySequence.StandardKey.Open)
        menu.addAction(self.open_photo_action)
        menu.addAction(self._action("Paste Photo", self.paste_photo, QKeySequence.StandardKey.Paste,
                                    "Use the image on the clipboard as the photo"))
        self.camera_action = QAction("&Webcam Preview", self, checkable=True)
        self.camera_action.setShortcut(QKeySequence("Ctrl+K"))
        self.camera_action.setStatusTip("Live preview from the webcam")
        self.camera_action.triggered.connect(self.set_camera)
        self.live.running_changed.connect(self.camera_action.setChecked)
        menu.addAction(self.camera_action)
        menu.addAction(self._action("&Capture from Webcam", self.capture, "Ctrl+Space",
                                    "Predict from the last frames of the live preview"))
        menu.addAction(self._action("Play &Video as Webcam…", self.play_video_dialog,
                                    tip="Use a video file as the live source"))
        menu.addSeparator()
        menu.addAction(self._action("&Open Recipe…", self.open_recipe_dialog, "Ctrl+Shift+O"))
        self.recent_menu = menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.save_action = self._action("&Save Recipe", self.save, QKeySequence.StandardKey.Save)
        menu.addAction(self.save_action)
        menu.addAction(self._action("Save Recipe &As…", self.save_as_dialog, QKeySequence.StandardKey.SaveAs))
        menu.addSeparator()
        menu.addAction(self._action("&Export Mesh…", self.export_mesh_dialog, "Ctrl+E", "OBJ, GLB or PLY"))
        menu.addAction(self._action("Save &Snapshot…", self.snapshot_dialog, "Ctrl+Shift+E",
                                    "The 3D view as a PNG image"))
        menu.addSeparator()
        menu.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))

        menu = self.menuBar().addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        menu.addActions([undo, redo])
        menu.addSeparator()
        menu.addAction(self._action("Reset &All to Prediction", self.editor.reset_all, "Ctrl+R",
                                    "Every slider and predicted choice back to the prediction"))
        menu.addAction(self._action("&Find Slider", self._focus_search, QKeySequence.StandardKey.Find))
        symmetry = QAction("S&ymmetry Lock", self, checkable=True)
        symmetry.setShortcut(QKeySequence("Ctrl+L"))
        symmetry.setChecked(self.editor.symmetry_lock)
        symmetry.toggled.connect(self.panel.symmetry.setChecked)
        self.panel.symmetry.toggled.connect(symmetry.setChecked)
        menu.addAction(symmetry)

        menu = self.menuBar().addMenu("&View")
        for view, key in zip(VIEW_AZIMUTH, "123", strict=True):
            menu.addAction(self._action(f"{view.capitalize()} View", lambda v=view: self.head_view.set_view(v), key))
        wireframe = QAction("&Wireframe", self, checkable=True)
        wireframe.setShortcut(QKeySequence("W"))
        wireframe.toggled.connect(self.head_view.set_wireframe)
        self.head_view.wireframe_button.toggled.connect(wireframe.setChecked)
        menu.addAction(wireframe)

    def _build_status_bar(self) -> None:
        self.timings = QLabel()
        self.statusBar().addPermanentWidget(self.timings)
        self.head_view.canvas.frame_drawn.connect(self._frame_drawn)

    def _frame_drawn(self, ms: float) -> None:
        self.timings.setText(f"mesh {self.state.mesh_ms:.1f} ms · normals {self.head_view.update_ms:.1f} ms · "
                             f"draw {ms:.1f} ms")

    # -- errors ------------------------------------------------------------------------------------
    def guarded(self, slot: Callable[[], object]) -> None:
        """Run an action; report what goes wrong instead of letting it escape."""
        try:
            slot()
        except Exception as exc:  # the app must never die of an action
            self.report(exc)

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

    # -- photo -------------------------------------------------------------------------------------
    def open_photo_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open photo", self._last_dir(), _PHOTO_FILTER)
        if path:
            self.open_photo(Path(path))

    def open_photo(self, path: Path) -> None:
        self.set_photo(pipeline.read_photo(path))
        self._remember(path)

    def paste_photo(self) -> None:
        clipboard = QApplication.clipboard()
        image = clipboard.image()
        if image.isNull():
            urls = [u.toLocalFile() for u in clipboard.mimeData().urls() if u.isLocalFile()]
            if not urls:
                raise InputError("the clipboard holds no image")
            self.open_file(Path(urls[0]))
            return
        self.set_photo(photo_from_qimage(image, "pasted image"))

    def set_photo(self, photo: Photo) -> None:
        """Show the photo and run the pipeline on it in a worker (only the newest run is kept)."""
        self._analyse((photo,))
        self.say(f"{photo.name}: {photo.pixels.shape[1]}x{photo.pixels.shape[0]}, analysing…")

    def _analyse(self, photos: tuple[Photo, ...]) -> None:
        """End the live preview, show the last photo and run the pipeline on all of them."""
        self.stop_camera()
        self.state.set_photo(photos[-1])
        self._analysed = photos
        request = pipeline.PhotoRequest(id=self.photo_runner.next_id(), photos=photos,
                                        adapter=self.strip.adapter.currentText(), models=self.state.models)
        self.photo_runner.submit(request)

    def _adapter_chosen(self, name: str) -> None:
        self.settings.set_text("pipeline/adapter", name)
        if self._analysed:
            self._analyse(self._analysed)

    def _photo_processed(self, _request_id: int, result: pipeline.PhotoResult) -> None:
        if result.photo is not None and result.photo is not self.state.photo:
            self.state.set_photo(result.photo)  # a burst shows the frame the models were surest of
        self.state.set_analysis(result.analysis)
        timings = dict(result.analysis.timings)
        if result.prediction is not None:
            self.state.set_predicted(result.prediction.recipe, result.prediction.confidence)
            self.editor.reset_all("Apply prediction")
            timings.update(result.prediction.timings)
        stages = " · ".join(f"{stage} {seconds * 1000:.0f} ms" for stage, seconds in timings.items())
        name = self.state.photo.name if self.state.photo else "photo"
        if len(self._analysed) > 1:
            name = f"{result.photos_used} of {len(self._analysed)} frames"
        outcome = result.problem or f"{name}: predicted in {result.seconds:.2f} s"
        notes = [n for n in (outcome, result.analysis.note if result.analysis.note != result.problem else "",
                             stages) if n]
        self.say("; ".join(notes))

    # -- webcam ------------------------------------------------------------------------------------
    def set_camera(self, on: bool) -> None:
        self.guarded(self.start_camera if on else self.stop_camera)

    def start_camera(self) -> None:
        """Live preview from the chosen camera; a missing camera is reported when the reader finds out."""
        index = self.live_bar.camera_index.value()
        self.settings.set_text("webcam/index", str(index))
        self.live.start(lambda: CameraSource(index))
        self.say(f"opening camera {index}…")

    def stop_camera(self) -> None:
        """End the live preview and show the photo again."""
        self.live.stop()
        self.state.set_live_frame(None)

    def play_video_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Play video as webcam", self._last_dir(), _VIDEO_FILTER)
        if path:
            self.play_video(Path(path))

    def play_video(self, path: Path) -> None:
        """A video file as the live source, at its own frame rate."""
        source = VideoFileSource(path)
        self.live.start(lambda: source, fps=source.fps or _DEFAULT_VIDEO_FPS)
        self.say(f"playing {path.name} as the live source")

    def capture(self) -> None:
        """Predict from the last frames of the live preview, combined by per-region confidence."""
        frames = tuple(self.live.recent)
        if not frames:
            raise InputError("nothing to capture: start the webcam preview first (Ctrl+K)")
        self._analyse(frames)
        self.say(f"captured {len(frames)} frames, analysing…")

    # -- recipes -----------------------------------------------------------------------------------
    def open_recipe_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open recipe", self._last_dir(), _RECIPE_FILTER)
        if path:
            self.open_recipe(Path(path))

    def open_recipe(self, path: Path) -> None:
        """Open an .mhm (MakeHuman's own too) or f2p JSON recipe; what f2p does not apply is reported."""
        start = time.perf_counter()
        result = read_recipe(path)
        self.editor.open(result.recipe, path)
        self._remember(path)
        for warning in result.warnings:
            log.warning("%s", warning)
        unapplied = result.recipe.unapplied()
        notes = [f"opened {path.name} in {(time.perf_counter() - start) * 1000:.0f} ms"]
        if result.warnings:
            notes.append(f"{len(result.warnings)} line(s) skipped or clamped (see the log)")
        if unapplied:
            notes.append(f"{len(unapplied)} setting(s) kept but not shown")
        self.say("; ".join(notes))

    def open_file(self, path: Path) -> None:
        """A recipe or a photo, chosen by suffix (drag and drop, recent files, command line)."""
        if path.suffix.lower() in RECIPE_SUFFIXES:
            self.open_recipe(path)
        else:
            self.open_photo(path)

    def save(self) -> None:
        if self.state.path is None or self.state.path.suffix.lower() not in RECIPE_SUFFIXES:
            self.save_as_dialog()
        else:
            self.save_to(self.state.path)

    def save_as_dialog(self) -> None:
        suggested = self.state.path or Path(self._last_dir()) / f"{self.state.recipe.name or 'face'}.mhm"
        path, _ = QFileDialog.getSaveFileName(self, "Save recipe", str(suggested), _RECIPE_FILTER)
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> None:
        """Write the recipe (.json as f2p JSON, anything else as .mhm), atomically."""
        if path.suffix.lower() == ".json":
            write_json(self.state.recipe, path)
        else:
            path = path if path.suffix else path.with_suffix(".mhm")
            write_mhm(self.state.recipe, path)
        self.undo_stack.setClean()
        self.state.mark_saved(path)
        self._remember(path)
        self._discard_autosave()
        self.say(f"saved {path}")

    # -- exports -----------------------------------------------------------------------------------
    def export_mesh_dialog(self) -> None:
        stem = self.state.path.stem if self.state.path else "head"
        path, chosen = QFileDialog.getSaveFileName(self, "Export mesh", str(Path(self._last_dir()) / f"{stem}.obj"),
                                                   _MESH_FILTER)
        if path:
            path = Path(path)
            if path.suffix.lower() not in HEAD_FORMATS:
                path = path.with_suffix(chosen[chosen.index("*") + 1: chosen.index(")")])
            self.export_mesh(path)

    def export_mesh(self, path: Path) -> None:
        start = time.perf_counter()
        export_head(self.state.vertices, path)
        self.say(f"exported {path} in {(time.perf_counter() - start) * 1000:.0f} ms")

    def snapshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save snapshot", str(Path(self._last_dir()) / "head.png"),
                                              "PNG image (*.png)")
        if path:
            self.save_snapshot(Path(path).with_suffix(".png"))

    def screenshot(self) -> QPixmap:
        """The whole window as the artist sees it, 3D view included."""
        grab = self.grab()
        self.head_view.paint_into(grab, self)
        return grab

    def save_snapshot(self, path: Path) -> None:
        """The 3D view as a PNG."""
        save_png(self.head_view.snapshot(), path)
        self.say(f"saved snapshot {path}")

    # -- autosave ----------------------------------------------------------------------------------
    def autosave(self) -> None:
        """Write the current recipe to the autosave file while it has unsaved changes."""
        if self.autosave_path is None or not self.state.dirty:
            return
        try:
            write_mhm(self.state.recipe, self.autosave_path)
        except OSError as exc:
            self.say(f"autosave failed: {exc}")

    def restore_autosave(self) -> bool:
        """Bring back the unsaved recipe of a session that ended without saving (one undoable step)."""
        if self.autosave_path is None or not self.autosave_path.is_file():
            return False
        try:
            recipe = read_recipe(self.autosave_path).recipe
        except F2PError as exc:
            self.say(f"could not restore the autosaved recipe: {exc}")
            return False
        self.editor.commit(recipe, "Restore autosaved recipe")
        self.say(f"restored the unsaved recipe of the last session ({self.autosave_path})")
        return True

    def _discard_autosave(self) -> None:
        if self.autosave_path is not None:
            self.autosave_path.unlink(missing_ok=True)

    # -- odds and ends -----------------------------------------------------------------------------
    def _focus_search(self) -> None:
        self.panel.search.setFocus()
        self.panel.search.selectAll()

    def _remember(self, path: Path) -> None:
        self.settings.add_recent(path)
        self.settings.set_text("files/last_dir", str(path.resolve().parent))

    def _last_dir(self) -> str:
        return self.settings.text("files/last_dir", str(Path.home()))

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files():
            action = self.recent_menu.addAction(path.name)
            action.setStatusTip(str(path))
            action.triggered.connect(lambda _checked=False, p=path: self.guarded(lambda: self.open_file(p)))
        self.recent_menu.setEnabled(True)
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _update_title(self) -> None:
        name = self.state.path.name if self.state.path else "untitled"
        self.setWindowTitle(f"{name}[*] — f2p-studio")
        self.setWindowModified(self.state.dirty)

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

    def save_settings(self) -> None:
        self.settings.set_blob("window/geometry", self.saveGeometry())
        self.settings.set_blob("window/splitter", self.splitter.saveState())
        self.settings.set_flag("view/wireframe", self.head_view.wireframe_button.isChecked())
        self.settings.set_flag("edit/symmetry_lock", self.editor.symmetry_lock)
        self.settings.sync()

    # -- Qt events ---------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Never asks: unsaved work goes to the autosave file and comes back on the next start.

        A closed studio window is finished (it is never shown again).
        """
        self._autosave_timer.stop()
        if self.state.dirty:
            self.autosave()
        else:
            self._discard_autosave()
        self.live.stop()
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
            self.guarded(lambda: self.set_photo(photo_from_qimage(mime.imageData(), "dropped image")))
        event.acceptProposedAction()


def save_png(image: QImage | QPixmap, path: Path) -> None:
    """Save a QImage/QPixmap as PNG atomically; raises F2PError if Qt cannot write it."""
    with atomic_output(path) as tmp:
        if not image.save(str(tmp), "PNG"):
            raise F2PError(f"{path}: could not write the PNG image")

