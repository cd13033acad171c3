"""The document: recipes and sessions in and out, exports and snapshots, the autosaved session.

Saves are atomic (the engine writes to a temporary name, then renames). While the session has
unsaved changes it is autosaved as one session file (`app.session`, photo embedded): photo,
prediction, edits, chosen face and view come back together on the next start. Each window owns
its autosave slot through a lock file, so two studios never overwrite or delete each other's. A
damaged autosave (or any file the studio reads back) is set aside under a new name with one
message, and the studio starts anyway.

The controller never sees the window: it gets the state, the editor, the settings, a messages
sink, the capture controller and the few views it reads (the 3D snapshot, the panel's check).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QStandardPaths, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.capture import CaptureController
from app.edits import RecipeEditor
from app.messages import Messages
from app.session import SESSION_SUFFIX, Session, read_session, write_session
from app.settings import StudioSettings
from app.state import StudioState
from f2p_engine.errors import F2PError, InputError
from f2p_engine.files import atomic_output
from f2p_engine.headmodel.export import HEAD_FORMATS
from f2p_engine.recipe import Recipe, read_recipe, write_json, write_mhm
from f2p_engine.render.export import export_character

RECIPE_SUFFIXES = (".mhm", ".json")
_RECIPE_FILTER = "MakeHuman recipe (*.mhm);;f2p recipe JSON (*.json);;All files (*)"
_SESSION_FILTER = f"f2p studio session (*{SESSION_SUFFIX});;All files (*)"
_MESH_FILTER = "Wavefront OBJ (*.obj);;glTF binary (*.glb);;Stanford PLY (*.ply)"
_AUTOSAVE_DELAY_MS = 1500
#: Autosave slots: one per studio window running at the same time.
_AUTOSAVE_SLOTS = 8


def autosave_folder() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))


@dataclass(frozen=True, slots=True)
class AutosaveSlot:
    """The autosave file a window owns while its lock is held."""

    path: Path
    lock: QLockFile


def claim_autosave(folder: Path) -> AutosaveSlot | None:
    """The first autosave slot in `folder` no running studio holds (locks of dead processes are
    taken over), or None when every slot is in use or the folder cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    for slot in range(_AUTOSAVE_SLOTS):
        path = folder / (f"autosave{SESSION_SUFFIX}" if slot == 0 else f"autosave-{slot + 1}{SESSION_SUFFIX}")
        lock = QLockFile(str(path) + ".lock")
        lock.setStaleLockTime(0)  # only a dead owner makes a lock stale, never its age
        if lock.tryLock(0):
            return AutosaveSlot(path, lock)
    return None


def save_png(image: QImage | QPixmap, path: Path) -> None:
    """Save a QImage/QPixmap as PNG atomically; raises F2PError if Qt cannot write it."""
    with atomic_output(path) as tmp:
        if not image.save(str(tmp), "PNG"):
            raise F2PError(f"{path}: could not write the PNG image")


def set_aside(path: Path) -> Path | None:
    """Rename a damaged file out of the way (kept for the artist to look at); its new name, or None."""
    target = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        path.rename(target)
    except OSError:
        return None
    return target


class DocumentController(QObject):
    """Recipe and session files, exports and the autosaved session of one window.
    `autosave_path=None` turns autosave off (screenshots, throwaway runs)."""

    #: The artist asked for another view of the head ("front", ...) or the fit check (True/False).
    view_requested = Signal(str)
    overlay_requested = Signal(bool)

    def __init__(self, state: StudioState, editor: RecipeEditor, settings: StudioSettings, messages: Messages,
                 capture: CaptureController, parent: QWidget, *, autosave_path: Path | None,
                 snapshot: Callable[[], QImage | QPixmap], unshowable: Callable[[Recipe], str | None],
                 view: Callable[[], tuple[str, bool]]) -> None:
        super().__init__(parent)
        self.state, self.editor, self.settings, self.messages = state, editor, settings, messages
        self.capture = capture
        self._snapshot, self._unshowable, self._view = snapshot, unshowable, view
        self.autosave_path = autosave_path
        self.autosave_timer = QTimer(self, singleShot=True, interval=_AUTOSAVE_DELAY_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.state.recipe_changed.connect(lambda _r: self.autosave_timer.start())
        #: The open "bring the photo back?" question, if any (tests answer it).
        self.offer: QMessageBox | None = None

    def _dialog_parent(self) -> QWidget:
        return self.parent()  # type: ignore[return-value]

    # -- recipes -----------------------------------------------------------------------------------
    def open_recipe_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._dialog_parent(), "Open recipe", self.settings.last_dir(),
                                              _RECIPE_FILTER)
        if path:
            self.open_recipe(Path(path))

    def open_recipe(self, path: Path) -> None:
        """Open an .mhm (MakeHuman's own too) or f2p JSON recipe; what f2p does not apply is reported.
        The file is its own reference: no row shows as edited until the artist changes it. A recipe a
        session saved beside its photo offers to bring the photo back."""
        start = time.perf_counter()
        result = read_recipe(path)
        if problem := self._unshowable(result.recipe):
            raise InputError(f"{path}: {problem}")
        self.capture.stop_camera()
        self.capture.cancel()  # a photo still being analysed must not land on this recipe
        self.editor.open(result.recipe, path)
        self.settings.remember(path)
        for warning in result.warnings:
            self.messages.log_warning(warning)
        unapplied = result.recipe.unapplied()
        notes = [f"opened {path.name} in {(time.perf_counter() - start) * 1000:.0f} ms"]
        if result.warnings:
            notes.append(f"{len(result.warnings)} line(s) skipped or clamped (see the log)")
        if unapplied:
            notes.append(f"{len(unapplied)} setting(s) kept but not shown")
        self.messages.say("; ".join(notes))
        self._offer_session_photo(path, result.recipe)

    def _offer_session_photo(self, path: Path, recipe: Recipe) -> None:
        """A session saved this recipe beside its photo (`<stem>.f2psession` next to it, same recipe):
        ask, without blocking, whether to bring the photo and its prediction back."""
        session_path = path.with_suffix(SESSION_SUFFIX)
        if not session_path.is_file():
            return
        try:
            session = read_session(session_path)
        except F2PError as exc:
            self.messages.log_warning(f"not offering the photo: {exc}")
            return
        if session.photo is None or session.recipe.modifiers != recipe.modifiers:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "f2p-studio",
                          f"{path.name} was saved from a session with the photo {session.photo.name}. "
                          "Bring the photo and its prediction back?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self._dialog_parent())
        box.setObjectName("bring_photo_back")
        box.accepted.connect(lambda: self.restore_session(session, path))
        box.open()
        self.offer = box

    def save(self) -> None:
        if self.state.path is None or self.state.path.suffix.lower() not in RECIPE_SUFFIXES:
            self.save_as_dialog()
        else:
            self.save_to(self.state.path)

    def stem(self) -> str:
        """The name files are suggested under: the open file's, else the recipe's (the photo's name)."""
        if self.state.path is not None:
            return self.state.path.stem
        return self.state.recipe.name or "face"

    def _suggested(self, suffix: str) -> str:
        """Beside the photo when the session has one from a file, else in the last folder used."""
        photo = self.state.photo
        folder = photo.path.parent if photo is not None and photo.path is not None else Path(self.settings.last_dir())
        return str(folder / f"{self.stem()}{suffix}")

    def save_as_dialog(self) -> None:
        suggested = str(self.state.path) if self.state.path else self._suggested(".mhm")
        path, _ = QFileDialog.getSaveFileName(self._dialog_parent(), "Save recipe", suggested, _RECIPE_FILTER)
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> None:
        """Write the recipe (.json as f2p JSON, anything else as .mhm), atomically. With a photo in
        the session, the session is saved beside it too, so reopening the recipe can bring it back."""
        if path.suffix.lower() == ".json":
            write_json(self.state.recipe, path)
        else:
            path = path if path.suffix else path.with_suffix(".mhm")
            write_mhm(self.state.recipe, path)
            if self.state.photo is not None:
                write_session(self.session(), path.with_suffix(SESSION_SUFFIX))
        self.editor.stack.setClean()
        self.state.mark_saved(path)
        self.settings.remember(path)
        self.discard_autosave()
        self.messages.say(f"saved {path}")

    # -- sessions ----------------------------------------------------------------------------------
    def session(self) -> Session:
        """The session as it is now."""
        photo = self.state.photo
        view, overlay = self._view()
        return Session(recipe=self.state.recipe, predicted=self.state.predicted, confidence=self.state.confidence,
                       sources=self.state.choice_sources, photo=photo,
                       face=self.state.analysis.face if self.state.analysis else 0, view=view, overlay=overlay)

    def save_session_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self._dialog_parent(), "Save session", self._suggested(SESSION_SUFFIX),
                                              _SESSION_FILTER)
        if path:
            self.save_session(Path(path).with_suffix(SESSION_SUFFIX))

    def save_session(self, path: Path, *, embed_photo: bool = False) -> None:
        """The whole session in one file; the photo by reference (path and sha256) when it is a file."""
        write_session(self.session(), path, embed_photo=embed_photo)
        self.settings.remember(path)
        self.messages.say(f"saved the session {path}")

    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._dialog_parent(), "Open session", self.settings.last_dir(),
                                              _SESSION_FILTER)
        if path:
            self.open_session(Path(path))

    def open_session(self, path: Path) -> None:
        self.restore_session(read_session(path), path)
        self.settings.remember(path)

    def restore_session(self, session: Session, source: Path | None) -> None:
        """Photo, prediction, edits (one undoable step over the prediction), chosen face and view. The
        photo is analysed again for display; the models are not asked (the prediction is restored)."""
        if problem := self._unshowable(session.recipe):
            raise InputError(f"{source}: {problem}")
        self.capture.stop_camera()
        self.capture.cancel()
        start = session.predicted or session.recipe
        if session.photo is not None:
            self.capture.analyse((session.photo,), face=session.face, apply_prediction=False)
        else:
            self.editor.new_session(session.recipe.name)
        self.state.set_predicted(session.predicted, dict(session.confidence), session.sources)
        self.editor.start_from(start)
        self.editor.commit(session.recipe, "Restore the session's edits")
        if source is not None and source.suffix.lower() in RECIPE_SUFFIXES:
            self.state.mark_saved(source)
            self.editor.stack.setClean()
        self.view_requested.emit(session.view)
        self.overlay_requested.emit(session.overlay)

    # -- exports -----------------------------------------------------------------------------------
    def export_mesh_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self._dialog_parent(), "Export mesh", self._suggested(".obj"),
                                                   _MESH_FILTER)
        if path:
            path = Path(path)
            if path.suffix.lower() not in HEAD_FORMATS:
                path = path.with_suffix(chosen[chosen.index("*") + 1: chosen.index(")")])
            self.export_mesh(path)

    def export_mesh(self, path: Path, *, quads: bool = False) -> None:
        """The character as named objects with materials (OBJ writes its .mtl beside it)."""
        start = time.perf_counter()
        written = export_character(self.state.vertices, self.state.recipe, path, quads=quads)
        self.messages.say(f"exported {', '.join(p.name for p in written)} in "
                          f"{(time.perf_counter() - start) * 1000:.0f} ms")

    def snapshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self._dialog_parent(), "Save snapshot", self._suggested(".png"),
                                              "PNG image (*.png)")
        if path:
            self.save_snapshot(Path(path).with_suffix(".png"))

    def save_snapshot(self, path: Path) -> None:
        """The 3D view as a PNG."""
        save_png(self._snapshot(), path)
        self.messages.say(f"saved snapshot {path}")

    # -- autosave ----------------------------------------------------------------------------------
    def autosave(self) -> None:
        """Write the session (photo embedded) while it has unsaved changes."""
        if self.autosave_path is None or not self.state.dirty:
            return
        try:
            self.autosave_path.parent.mkdir(parents=True, exist_ok=True)
            write_session(self.session(), self.autosave_path, embed_photo=True)
        except (OSError, F2PError) as exc:
            self.messages.say(f"autosave failed: {exc}")

    def restore_autosave(self) -> bool:
        """Bring back the session of a window that ended without saving. A damaged autosave is set
        aside (renamed, one message) and the studio starts empty."""
        if self.autosave_path is None or not self.autosave_path.is_file():
            return False
        try:
            self.restore_session(read_session(self.autosave_path), None)
        except F2PError as exc:
            kept = set_aside(self.autosave_path)
            where = f"kept as {kept.name}" if kept else "left in place"
            self.messages.warn(f"The autosaved session could not be restored and was {where}: {exc}")
            return False
        self.messages.say(f"restored the unsaved session of last time ({self.autosave_path})")
        return True

    def discard_autosave(self) -> None:
        if self.autosave_path is not None:
            self.autosave_path.unlink(missing_ok=True)

    def close(self) -> None:
        """Unsaved work goes to the autosave file; a saved session leaves none behind."""
        self.autosave_timer.stop()
        if self.state.dirty:
            self.autosave()
        else:
            self.discard_autosave()
