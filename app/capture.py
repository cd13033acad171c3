"""Photos in: open, paste, drop, webcam preview and burst capture, each run through the pipeline.

`CaptureController` owns the pipeline worker and the live feed. One photo is one session: a new
photo (or a capture) starts a new undo history on the neutral head (`RecipeEditor.new_session`),
and the prediction, when it comes, is its first undoable step. A photo with no usable face leaves
the neutral head, marked as such, and says so once, in the banner over the photo. In a group
photo every face is outlined; `choose_face` predicts for another one.

The controller never sees the window: it gets the state, the editor, the settings, a messages sink
and the parent widget for its dialogs; the window feeds it the widgets' choices (adapter, camera
number) and listens to `file_requested` for a pasted file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from app import photo_pipeline as pipeline
from app.edits import RecipeEditor
from app.images import photo_from_qimage
from app.live import LiveFeed
from app.messages import Messages, guarded
from app.settings import StudioSettings
from app.state import Photo, StudioState
from app.workers import LatestOnly
from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.errors import InputError

_PHOTO_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp);;All files (*)"
_VIDEO_FILTER = "Videos (*.avi *.mp4 *.mkv *.mov *.webm);;All files (*)"
#: Playback rate of a video whose file does not say.
_DEFAULT_VIDEO_FPS = 25.0


class CaptureController(QObject):
    """Photo, paste, drop, camera and burst -> pipeline requests -> state, for one window."""

    #: (request id, stage) from the pipeline worker: what it is doing now.
    stage_reached = Signal(int, str)
    #: A file to open (a path pasted instead of an image): photo or recipe, the window decides.
    file_requested = Signal(Path)

    def __init__(self, state: StudioState, editor: RecipeEditor, settings: StudioSettings, messages: Messages,
                 parent: QWidget) -> None:
        super().__init__(parent)
        self.state, self.editor, self.settings, self.messages = state, editor, settings, messages
        #: The domain adapter photos are run through (the strip's choice, via `adapter_chosen`).
        self.adapter = DEFAULT_ADAPTER
        #: Which webcam the live preview opens (the live bar's spin box).
        self.camera_index = 0
        self.runner = LatestOnly(pipeline.process_photos, self)
        self.runner.finished.connect(self._processed)
        self.runner.failed.connect(lambda _id, exc: self._failed(exc))
        self.stage_reached.connect(self._stage)
        self.live = LiveFeed(self.state, self)
        self.live.failed.connect(messages.warn)
        #: The photos of the last pipeline run (one photo, or a webcam burst), re-run on an adapter change.
        self.analysed: tuple[Photo, ...] = ()
        self._started = 0.0

    # -- photos ------------------------------------------------------------------------------------
    def _ask_and_open(self, title: str, name_filter: str, open_path: Callable[[Path], None]) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent(), title, self.settings.last_dir(), name_filter)
        if path:
            open_path(Path(path))

    def open_photo_dialog(self) -> None:
        self._ask_and_open("Open photo", _PHOTO_FILTER, self.open_photo)

    def open_photo(self, path: Path) -> None:
        """Read the file (a dialog if it cannot be read) and start a session for it."""
        self.set_photo(pipeline.read_photo(path))
        self.settings.remember(path)

    def paste_photo(self) -> None:
        clipboard = QApplication.clipboard()
        image = clipboard.image()
        if image.isNull():
            urls = [u.toLocalFile() for u in clipboard.mimeData().urls() if u.isLocalFile()]
            if not urls:
                raise InputError("the clipboard holds no image")
            self.file_requested.emit(Path(urls[0]))
            return
        self.set_photo(photo_from_qimage(image, "pasted image"))

    def set_photo(self, photo: Photo) -> None:
        """A new session for `photo`: neutral head, empty undo history, the pipeline started on it."""
        self.analyse((photo,))
        self.messages.say(f"{photo.name}: {photo.pixels.shape[1]}x{photo.pixels.shape[0]}, analysing…")

    def analyse(self, photos: tuple[Photo, ...], *, face: int = 0, new_session: bool = True,
                apply_prediction: bool = True) -> None:
        """End the live preview, show the last photo and run the pipeline on all of them."""
        self.stop_camera()
        if new_session:
            self.editor.new_session(photos[-1].name)
        self.state.set_photo(photos[-1])
        self.analysed = photos
        request_id = self.runner.next_id()
        request = pipeline.PhotoRequest(id=request_id, photos=photos, adapter=self.adapter,
                                        models=self.state.models, face=face, apply_prediction=apply_prediction,
                                        progress=lambda stage: self.stage_reached.emit(request_id, stage))
        self._started = time.perf_counter()
        self.state.set_busy("finding the face")
        self.runner.submit(request)

    def cancel(self) -> None:
        """Drop the result of any photo still being analysed (another document was opened)."""
        self.runner.next_id()
        self.analysed = ()
        self.state.set_busy(None)

    def choose_face(self, index: int) -> None:
        """Predict for face `index` (largest first) of the current photo: a new session for it."""
        if not self.analysed or self.state.analysis is None or not 0 <= index < len(self.state.analysis.faces):
            return
        if index != self.state.analysis.face:
            said = f"face {self.state.analysis.number(index)} of {len(self.state.analysis.faces)}: analysing…"
            self.analyse(self.analysed, face=index)  # starts a new session and clears the analysis: said before
            self.messages.say(said)

    def adapter_chosen(self, name: str) -> None:
        self.adapter = name
        self.settings.set_text("pipeline/adapter", name)
        if self.analysed:
            face = self.state.analysis.face if self.state.analysis is not None else 0
            # Same photo, same session: the new prediction is one undoable step over the artist's edits.
            self.analyse(self.analysed, face=face, new_session=False)

    def _stage(self, request_id: int, stage: str) -> None:
        if request_id == self.runner.latest and self.state.busy:
            self.state.set_busy(stage)

    def _failed(self, exc: BaseException) -> None:
        self.state.set_busy(None)
        self.messages.report(exc)

    def _processed(self, _request_id: int, result: pipeline.PhotoResult) -> None:
        self.state.set_busy(None)
        if result.photo is not None and result.photo is not self.state.photo:
            self.state.set_photo(result.photo)  # a burst shows the frame the models were surest of
        self.state.set_analysis(result.analysis)
        timings = dict(result.analysis.timings)
        if result.prediction is not None and result.apply_prediction:
            self.state.set_predicted(result.prediction.recipe, result.prediction.confidence, result.prediction.sources)
            self.editor.apply_prediction(result.prediction.recipe)
        if result.prediction is not None:
            timings.update(result.prediction.timings)
        stages = " · ".join(f"{stage} {seconds * 1000:.0f} ms" for stage, seconds in timings.items())
        name = self.state.photo.name if self.state.photo else "photo"
        if len(self.analysed) > 1:
            name = f"{result.photos_used} of {len(self.analysed)} frames"
        on_screen = time.perf_counter() - self._started
        done = "predicted" if result.apply_prediction else "analysed (its prediction restored)"
        outcome = result.problem or f"{name}: {done} in {result.seconds:.2f} s (on screen in {on_screen:.2f} s)"
        notes = [n for n in (outcome, result.analysis.note if result.analysis.note != result.problem else "",
                             stages) if n]
        self.messages.say("; ".join(notes))

    # -- webcam ------------------------------------------------------------------------------------
    def set_camera(self, on: bool) -> None:
        guarded(self.messages, self.start_camera if on else self.stop_camera)

    def start_camera(self) -> None:
        """Live preview from the chosen camera; a missing camera is reported when the reader finds out."""
        index = self.camera_index
        self.settings.set_text("webcam/index", str(index))
        from f2p_engine.face.frames import CameraSource  # OpenCV: not at start-up

        self.live.start(lambda: CameraSource(index))
        self.messages.say(f"opening camera {index}…")

    def stop_camera(self) -> None:
        """End the live preview and show the photo again."""
        self.live.stop()
        self.state.set_live_frame(None)

    def play_video_dialog(self) -> None:
        self._ask_and_open("Play video as webcam", _VIDEO_FILTER, self.play_video)

    def play_video(self, path: Path) -> None:
        """A video file as the live source, at its own frame rate."""
        from f2p_engine.face.frames import VideoFileSource

        source = VideoFileSource(path)
        self.live.start(lambda: source, fps=source.fps or _DEFAULT_VIDEO_FPS)
        self.messages.say(f"playing {path.name} as the live source")

    def capture(self) -> None:
        """Predict from the last frames of the live preview, combined by per-region confidence."""
        frames = tuple(self.live.recent)
        if not frames:
            raise InputError("nothing to capture: start the webcam preview first (Ctrl+K)")
        self.analyse(frames)
        self.messages.say(f"captured {len(frames)} frames, analysing…")
