"""Visible folds of the edited head, checked off the GUI thread: which sliders get a warning mark.

When the edits pause (`SETTLE_MS` after the last change: never mid-drag), the current recipe goes to
the engine's `FoldFinder` on the engine's fold thread (its GL context belongs to that thread). A recipe that
folds marks the sliders that were changed since the last fold-free recipe the watch saw (the edit that
made the fold), or, when the recipe came folded (a file, a reset of many sliders), the engine's
culprits. A fold-free recipe clears every mark. `unfold(name)` asks the engine for the nearest
fold-free recipe that keeps slider `name` where the artist put it; it arrives as one undoable edit.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from app.state import StudioState
from f2p_engine.headmodel import schema
from f2p_engine.recipe import Recipe

if TYPE_CHECKING:
    from f2p_engine.render.folds import FoldFinder

log = logging.getLogger(__name__)

#: Quiet time after the last recipe change before the check runs.
SETTLE_MS = 200
#: An edit that changed more sliders than this (a file, a reset) is not blamed as a whole.
MAX_BLAMED = 4


def _check(finder: FoldFinder, recipe: Recipe) -> tuple[Recipe, int, tuple[str, ...]]:
    """(recipe, largest fold in pixels, culprit sliders), on the engine's fold thread."""
    folds = finder.folds(recipe)
    return recipe, folds.pixels, finder.culprits(recipe, folds) if folds else ()


class QtFoldWatch(QObject):
    """Follows `state.recipe`; `changed` carries the sliders (schema names) to mark as making a fold."""

    #: frozenset of schema slider names.
    changed = Signal(object)
    #: (recipe the request was made for, the fold-free recipe `unfold` found).
    unfolded = Signal(object, object)
    _checked = Signal(object)  # the worker's answers, queued to the GUI thread
    _found = Signal(object, object)

    def __init__(self, state: StudioState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.marked: frozenset[str] = frozenset()
        #: The last recipe checked, and its largest visible fold in pixels of one view (0: none).
        self.checked: Recipe | None = None
        self.fold_pixels = 0
        self._clean: Recipe | None = None  # the last fold-free recipe checked
        self._closed = False
        self._timer = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._timer.timeout.connect(self._submit)
        self._checked.connect(self._show)
        self._found.connect(self._deliver)
        # Not at start-up: the first check builds the engine's fold finder (a GL context, ~0.2 s of CPU)
        # and would compete with the first frame; recipes are checked from their first change on.
        state.recipe_changed.connect(lambda _recipe: self._timer.start())
        state.predicted_changed.connect(self._predicted)

    def _predicted(self, predicted: Recipe | None) -> None:
        """Predictions come without visible folds (the engine moves them out): a known fold-free recipe,
        so the first edit that folds it is blamed even before any check has run."""
        if predicted is not None:
            self._clean = predicted

    def _submit(self) -> None:
        from f2p_engine.render.folds import on_fold_thread  # not at start-up: the first check is later

        recipe = self.state.recipe
        on_fold_thread(lambda finder: _check(finder, recipe)).add_done_callback(self._done)

    def _done(self, future: Future) -> None:
        if self._closed:
            return
        if (error := future.exception()) is not None:
            log.warning("fold check failed: %s", error)  # a missing GL stack must not stop editing
            return
        self._checked.emit(future.result())

    def unfold(self, keep: str) -> None:
        """Find the nearest fold-free recipe that keeps slider `keep`; `unfolded` delivers it."""
        from f2p_engine.render.folds import on_fold_thread

        recipe = self.state.recipe
        future = on_fold_thread(lambda finder: finder.fold_free(recipe, keep=[keep]).recipe)
        future.add_done_callback(lambda f: not self._closed and f.exception() is None
                                 and self._found.emit(recipe, f.result()))

    def _deliver(self, asked: Recipe, found: Recipe) -> None:
        if asked == self.state.recipe:  # the artist has not moved on meanwhile
            self.unfolded.emit(asked, found)

    def _show(self, result: tuple[Recipe, int, tuple[str, ...]]) -> None:
        recipe, pixels, culprits = result
        if recipe != self.state.recipe:
            return  # a newer recipe is on its way
        self.checked, self.fold_pixels = recipe, pixels
        if not pixels:
            self._clean, marked = recipe, frozenset()
        else:
            made = frozenset(p.name for p in schema.CONTINUOUS if self._clean is not None
                             and recipe.value(p.name) != self._clean.value(p.name))
            marked = made if 0 < len(made) <= MAX_BLAMED else frozenset(culprits)
        if marked != self.marked:
            self.marked = marked
            self.changed.emit(marked)

    def close(self) -> None:
        """Stop watching; answers still on their way are dropped."""
        self._closed = True
        self._timer.stop()
