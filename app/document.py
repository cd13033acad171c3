"""The document: open and save recipes, export meshes and snapshots, recent files, autosave.

Saves are atomic (the engine writes to a temporary name, then renames). While the session has
unsaved changes it is autosaved: the recipe (`autosave.mhm`) and, beside it, the session's photo
(`autosave.photo.png`), its prediction (`autosave.predicted.json`) and `autosave.session.json`
(photo name, chosen face, per-region confidence). A session that ended with unsaved changes comes
back whole on the next start: photo, prediction markers and edits together.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFileDialog

from app.images import qimage_to_rgb, rgb_to_qimage
from app.state import Photo
from f2p_engine.errors import F2PError, InputError
from f2p_engine.files import atomic_output
from f2p_engine.headmodel.export import HEAD_FORMATS, export_head
from f2p_engine.recipe import read_recipe, write_json, write_mhm

if TYPE_CHECKING:
    from app.window import StudioWindow

RECIPE_SUFFIXES = (".mhm", ".json")
_RECIPE_FILTER = "MakeHuman recipe (*.mhm);;f2p recipe JSON (*.json);;All files (*)"
_MESH_FILTER = "Wavefront OBJ (*.obj);;glTF binary (*.glb);;Stanford PLY (*.ply)"
_AUTOSAVE_DELAY_MS = 1500


def default_autosave_path() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "autosave.mhm"


def save_png(image: QImage | QPixmap, path: Path) -> None:
    """Save a QImage/QPixmap as PNG atomically; raises F2PError if Qt cannot write it."""
    with atomic_output(path) as tmp:
        if not image.save(str(tmp), "PNG"):
            raise F2PError(f"{path}: could not write the PNG image")


class DocumentController(QObject):
    """Recipe files, exports, recent files and the autosaved session of one window.
    `autosave_path=None` turns autosave off (screenshots, throwaway runs)."""

    def __init__(self, window: StudioWindow, autosave_path: Path | None) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.autosave_path = autosave_path
        self.autosave_timer = QTimer(self, singleShot=True, interval=_AUTOSAVE_DELAY_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.state.recipe_changed.connect(lambda _r: self.autosave_timer.start())
        self._photo_saved: Photo | None = None

    # -- recipes -----------------------------------------------------------------------------------
    def open_recipe_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open recipe", self.last_dir(), _RECIPE_FILTER)
        if path:
            self.open_recipe(Path(path))

    def open_recipe(self, path: Path) -> None:
        """Open an .mhm (MakeHuman's own too) or f2p JSON recipe; what f2p does not apply is reported."""
        start = time.perf_counter()
        result = read_recipe(path)
        if problem := self.window.panel.unshowable(result.recipe):
            raise InputError(f"{path}: {problem}")
        self.window.capture.stop_camera()
        self.window.capture.cancel()  # a photo still being analysed must not land on this recipe
        self.window.editor.open(result.recipe, path)
        self.remember(path)
        for warning in result.warnings:
            self.window.log_warning(warning)
        unapplied = result.recipe.unapplied()
        notes = [f"opened {path.name} in {(time.perf_counter() - start) * 1000:.0f} ms"]
        if result.warnings:
            notes.append(f"{len(result.warnings)} line(s) skipped or clamped (see the log)")
        if unapplied:
            notes.append(f"{len(unapplied)} setting(s) kept but not shown")
        self.window.say("; ".join(notes))

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

    def save_as_dialog(self) -> None:
        suggested = self.state.path or Path(self.last_dir()) / f"{self.stem()}.mhm"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save recipe", str(suggested), _RECIPE_FILTER)
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> None:
        """Write the recipe (.json as f2p JSON, anything else as .mhm), atomically."""
        if path.suffix.lower() == ".json":
            write_json(self.state.recipe, path)
        else:
            path = path if path.suffix else path.with_suffix(".mhm")
            write_mhm(self.state.recipe, path)
        self.window.undo_stack.setClean()
        self.state.mark_saved(path)
        self.remember(path)
        self.discard_autosave()
        self.window.say(f"saved {path}")

    # -- exports -----------------------------------------------------------------------------------
    def export_mesh_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export mesh",
                                                   str(Path(self.last_dir()) / f"{self.stem()}.obj"), _MESH_FILTER)
        if path:
            path = Path(path)
            if path.suffix.lower() not in HEAD_FORMATS:
                path = path.with_suffix(chosen[chosen.index("*") + 1: chosen.index(")")])
            self.export_mesh(path)

    def export_mesh(self, path: Path) -> None:
        start = time.perf_counter()
        export_head(self.state.vertices, path)
        self.window.say(f"exported {path} in {(time.perf_counter() - start) * 1000:.0f} ms")

    def snapshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save snapshot",
                                              str(Path(self.last_dir()) / f"{self.stem()}.png"), "PNG image (*.png)")
        if path:
            self.save_snapshot(Path(path).with_suffix(".png"))

    def save_snapshot(self, path: Path) -> None:
        """The 3D view as a PNG."""
        save_png(self.window.head_view.snapshot(), path)
        self.window.say(f"saved snapshot {path}")

    # -- autosave ----------------------------------------------------------------------------------
    def _sidecar(self, suffix: str) -> Path:
        assert self.autosave_path is not None
        return self.autosave_path.with_name(self.autosave_path.stem + suffix)

    def autosave(self) -> None:
        """Write the session (recipe, photo, prediction) while it has unsaved changes."""
        if self.autosave_path is None or not self.state.dirty:
            return
        try:
            self.autosave_path.parent.mkdir(parents=True, exist_ok=True)
            photo, predicted = self.state.photo, self.state.predicted
            if photo is not None and photo is not self._photo_saved:
                save_png(rgb_to_qimage(photo.pixels), self._sidecar(".photo.png"))
                self._photo_saved = photo
            if predicted is not None:
                write_json(predicted, self._sidecar(".predicted.json"))
            session = {"photo": photo.name if photo else None, "predicted": predicted is not None,
                       "confidence": self.state.confidence,
                       "face": self.state.analysis.face if self.state.analysis else 0}
            with atomic_output(self._sidecar(".session.json")) as tmp:
                tmp.write_text(json.dumps(session))
            write_mhm(self.state.recipe, self.autosave_path)  # last: its presence means a whole session
        except (OSError, F2PError) as exc:
            self.window.say(f"autosave failed: {exc}")

    def restore_autosave(self) -> bool:
        """Bring back the photo, prediction and unsaved recipe of a session that ended without saving;
        the recipe is one undoable step over the prediction."""
        if self.autosave_path is None or not self.autosave_path.is_file():
            return False
        try:
            recipe = read_recipe(self.autosave_path).recipe
            session = json.loads(self._sidecar(".session.json").read_text())
            predicted = read_recipe(self._sidecar(".predicted.json")).recipe if session["predicted"] else None
            photo = None
            if session["photo"] is not None:
                pixels = qimage_to_rgb(QImage(str(self._sidecar(".photo.png"))))
                photo = Photo(name=session["photo"], pixels=pixels)
        except (OSError, ValueError, KeyError, F2PError) as exc:
            self.window.say(f"could not restore the autosaved session: {exc}")
            return False
        if photo is not None:
            self._photo_saved = photo
            self.window.capture.analyse((photo,), face=int(session.get("face", 0)), apply_prediction=False)
        else:
            self.window.editor.new_session(recipe.name)
        self.state.set_predicted(predicted, session.get("confidence") or {})
        self.window.editor.commit(recipe, "Restore autosaved recipe")
        self.window.say(f"restored the unsaved session of last time ({self.autosave_path})")
        return True

    def discard_autosave(self) -> None:
        if self.autosave_path is not None:
            for path in (self.autosave_path, *(self._sidecar(s) for s in (".photo.png", ".predicted.json",
                                                                          ".session.json"))):
                path.unlink(missing_ok=True)
            self._photo_saved = None

    def close(self) -> None:
        """Unsaved work goes to the autosave files; a saved session leaves none behind."""
        self.autosave_timer.stop()
        if self.state.dirty:
            self.autosave()
        else:
            self.discard_autosave()

    # -- recent files ------------------------------------------------------------------------------
    def remember(self, path: Path) -> None:
        self.window.settings.add_recent(path)
        self.window.settings.set_text("files/last_dir", str(path.resolve().parent))

    def last_dir(self) -> str:
        return self.window.settings.text("files/last_dir", str(Path.home()))

    def fill_recent_menu(self) -> None:
        menu = self.window.recent_menu
        menu.clear()
        for path in self.window.settings.recent_files():
            action = menu.addAction(path.name)
            action.setStatusTip(str(path))
            action.triggered.connect(lambda _checked=False, p=path: self.window.guarded(
                lambda: self.window.open_file(p)))
        menu.setEnabled(True)
        if menu.isEmpty():
            menu.addAction("(none)").setEnabled(False)
