"""The window's menus and shortcuts, and the shortcut sheet of the Help menu (built from the same actions).

Every action that can fail runs through the host's `guarded` (`app.messages.guarded`): an `F2PError` becomes a one-line
status message and a dialog, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QMenu, QMessageBox

from app.qt_head_view import VIEW_AZIMUTH
from app.refine_likeness import LikenessRefiner

if TYPE_CHECKING:
    from app.capture import CaptureController
    from app.document import DocumentController
    from app.edits import RecipeEditor
    from app.qt_head_view import QtHeadView
    from app.qt_parameters import QtParameterPanel
    from app.settings import StudioSettings


class MenuHost(Protocol):
    """What the menus are built on and act upon (the studio window provides it; nothing here knows it).
    `build_menus` sets the `*_action` attributes and `recent_menu` on it."""

    capture: CaptureController
    document: DocumentController
    editor: RecipeEditor
    settings: StudioSettings
    undo_stack: QUndoStack
    panel: QtParameterPanel
    head_view: QtHeadView

    def guarded(self, slot: Callable[[], object]) -> None: ...
    def say(self, message: str) -> None: ...
    def warn(self, message: str) -> None: ...
    def open_file(self, path: Path) -> None: ...
    def set_view(self, view: str) -> None: ...
    def show_overlay(self, on: bool) -> None: ...
    def focus_search(self) -> None: ...
    def menuBar(self): ...
    def close(self) -> bool: ...


def _action(window: MenuHost, text: str, slot: Callable[[], object],
            shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None, tip: str = "") -> QAction:
    action = QAction(text, window)  # type: ignore[arg-type]
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False: window.guarded(slot))
    return action


def build_menus(window: MenuHost) -> None:
    """File, Edit, View and Help menus on `window`; keeps the actions tests and the sheet need as attributes."""
    capture, document, editor = window.capture, window.document, window.editor
    menu = window.menuBar().addMenu("&File")
    window.open_photo_action = _action(window, "Open &Photo…", capture.open_photo_dialog, QKeySequence.StandardKey.Open,
                                       "Open a photo: a new session (its own undo history)")
    menu.addAction(window.open_photo_action)
    menu.addAction(_action(window, "Paste Photo", capture.paste_photo, QKeySequence.StandardKey.Paste,
                           "Use the image on the clipboard as the photo"))
    window.camera_action = QAction("&Webcam Preview", window, checkable=True)
    window.camera_action.setShortcut(QKeySequence("Ctrl+K"))
    window.camera_action.setStatusTip("Live preview from the webcam")
    window.camera_action.triggered.connect(capture.set_camera)
    capture.live.running_changed.connect(window.camera_action.setChecked)
    menu.addAction(window.camera_action)
    menu.addAction(_action(window, "&Capture from Webcam", capture.capture, "Ctrl+Space",
                           "Predict from the last frames of the live preview"))
    menu.addAction(_action(window, "Play &Video as Webcam…", capture.play_video_dialog,
                           tip="Use a video file as the live source"))
    menu.addSeparator()
    menu.addAction(_action(window, "&Open Recipe…", document.open_recipe_dialog, "Ctrl+Shift+O"))
    window.recent_menu = menu.addMenu("Open &Recent")
    window.recent_menu.aboutToShow.connect(lambda: fill_recent_menu(window))
    window.save_action = _action(window, "&Save Recipe", document.save, QKeySequence.StandardKey.Save)
    menu.addAction(window.save_action)
    menu.addAction(_action(window, "Save Recipe &As…", document.save_as_dialog, QKeySequence.StandardKey.SaveAs))
    menu.addSeparator()
    window.open_session_action = _action(window, "Open Sess&ion…", document.open_session_dialog, "Ctrl+Alt+O",
                                         "Photo, prediction, edits, chosen face and view, as they were saved")
    menu.addAction(window.open_session_action)
    window.save_session_action = _action(window, "Save Sessio&n…", document.save_session_dialog, "Ctrl+Alt+S",
                                         "Photo (by reference), prediction, edits, chosen face and view in one file")
    menu.addAction(window.save_session_action)
    menu.addSeparator()
    menu.addAction(_action(window, "&Export Mesh…", document.export_mesh_dialog, "Ctrl+E", "OBJ, GLB or PLY"))
    menu.addAction(_action(window, "Save &Snapshot…", document.snapshot_dialog, "Ctrl+Shift+E",
                           "The 3D view as a PNG image"))
    menu.addSeparator()
    menu.addAction(_action(window, "&Quit", window.close, QKeySequence.StandardKey.Quit))

    menu = window.menuBar().addMenu("&Edit")
    window.undo_action = window.undo_stack.createUndoAction(window, "&Undo")
    window.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
    window.redo_action = window.undo_stack.createRedoAction(window, "&Redo")
    # Ctrl+Y as well as the platform's redo (Ctrl+Shift+Z on Linux): artists coming from Windows tools use it.
    window.redo_action.setShortcuts([*QKeySequence.keyBindings(QKeySequence.StandardKey.Redo), QKeySequence("Ctrl+Y")])
    menu.addActions([window.undo_action, window.redo_action])
    menu.addSeparator()
    menu.addAction(_action(window, "Reset &All to Prediction", editor.reset_all, "Ctrl+R",
                           "Every slider and predicted choice back to the prediction"))
    refiner = LikenessRefiner(editor.state, editor, window, parent=window)  # type: ignore[arg-type]
    window.refine_action = _action(window, "Refine &Likeness", refiner.start, "Ctrl+Shift+R",
                                   "Search the face sliders for a closer likeness to the photo (seconds; undoable)")
    menu.addAction(window.refine_action)
    menu.addAction(_action(window, "&Find Slider", window.focus_search, QKeySequence.StandardKey.Find))
    symmetry = QAction("S&ymmetry Lock", window, checkable=True)
    symmetry.setShortcut(QKeySequence("Ctrl+L"))
    symmetry.setChecked(editor.symmetry_lock)
    symmetry.toggled.connect(window.panel.symmetry.setChecked)
    window.panel.symmetry.toggled.connect(symmetry.setChecked)
    menu.addAction(symmetry)

    menu = window.menuBar().addMenu("&View")
    for view, key in zip(VIEW_AZIMUTH, "123", strict=True):
        menu.addAction(_action(window, f"{view.capitalize()} View", lambda v=view: window.set_view(v), key))
    wireframe = QAction("&Wireframe", window, checkable=True)
    wireframe.setShortcut(QKeySequence("W"))
    wireframe.toggled.connect(window.head_view.set_wireframe)
    window.head_view.wireframe_button.toggled.connect(wireframe.setChecked)
    menu.addAction(wireframe)
    window.overlay_action = QAction("&Overlay on Photo", window, checkable=True)
    window.overlay_action.setShortcut(QKeySequence("O"))
    window.overlay_action.setStatusTip("The head drawn over the aligned photo at the photo's head pose")
    window.overlay_action.toggled.connect(window.show_overlay)
    menu.addAction(window.overlay_action)

    menu = window.menuBar().addMenu("&Help")
    window.shortcuts_action = _action(window, "&Keyboard Shortcuts", lambda: show_shortcut_sheet(window), "F1")
    menu.addAction(window.shortcuts_action)


def shortcut_sheet(window: MenuHost) -> list[tuple[str, str]]:
    """(action, shortcuts) for every menu action with a shortcut, in menu order."""
    rows = []

    def visit(menu: QMenu) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                visit(action.menu())
            elif action.shortcuts():
                keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
                rows.append((action.text().replace("&", "").rstrip("…"), keys))

    for top in window.menuBar().actions():
        visit(top.menu())
    return rows


def show_shortcut_sheet(window: MenuHost) -> QMessageBox:
    rows = "".join(f"<tr><td>{name}</td><td><b>{keys}</b></td></tr>" for name, keys in shortcut_sheet(window))
    box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", f"<table cellspacing=6>{rows}</table>",
                      QMessageBox.StandardButton.Ok, window)
    box.setObjectName("shortcut_sheet")
    box.open()
    return box


def fill_recent_menu(window: MenuHost) -> None:
    """The recent files, most recent first; each opens through the window (photo, recipe or session)."""
    menu = window.recent_menu
    menu.clear()
    for path in window.settings.recent_files():
        action = menu.addAction(path.name)
        action.setStatusTip(str(path))
        action.triggered.connect(lambda _checked=False, p=path: window.guarded(lambda: window.open_file(p)))
    menu.setEnabled(True)
    if menu.isEmpty():
        menu.addAction("(none)").setEnabled(False)
