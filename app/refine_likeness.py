"""Edit > Refine Likeness: the engine's render-and-compare refinement (`infer.refine`) off the GUI thread.

The current recipe's face sliders are refined against the analysed photo's aligned face on one
worker thread that owns the refiner (its GL context stays on that thread). The result lands as one
undoable step, unless the recipe changed while it ran (then it is dropped and the artist told).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from f2p_engine.errors import InputError
from f2p_engine.recipe import Recipe

if TYPE_CHECKING:
    from app.edits import RecipeEditor
    from app.messages import Messages
    from app.state import StudioState
    from f2p_engine.infer.refine import Refiner

log = logging.getLogger(__name__)
UNDO_TEXT = "Refine likeness"


class LikenessRefiner(QObject):
    """Runs refinements one at a time on its own thread; `done(start recipe, refined recipe, seconds)` or
    `failed(message)` arrive on the GUI thread."""

    done = Signal(object, object, float)
    failed = Signal(str)

    def __init__(self, state: StudioState, editor: RecipeEditor, messages: Messages, parent: QObject) -> None:
        super().__init__(parent)
        self._state, self._editor, self._messages = state, editor, messages
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="f2p-refine")
        self._refiner: Refiner | None = None
        self.running = False
        self.done.connect(self._apply)
        self.failed.connect(messages.warn)

    def start(self) -> None:
        """Refine the current recipe against the photo's aligned face (InputError without one)."""
        analysis = self._state.analysis
        if analysis is None or analysis.aligned is None or analysis.aligned_landmarks is None:
            raise InputError("Refine likeness needs a photo with a face: open a photo first")
        if self.running:
            self._messages.say("Refining the likeness already…")
            return
        self.running = True
        self._messages.say("Refining the likeness (a few seconds)…")
        self._thread.submit(self._run, self._state.recipe, analysis.aligned, analysis.aligned_landmarks)

    def _run(self, recipe: Recipe, image: np.ndarray, landmarks: np.ndarray) -> None:
        from f2p_engine.infer.refine import Refiner
        from f2p_engine.render.renderer import Renderer

        try:
            if self._refiner is None or self._refiner.renderer.size != image.shape[0]:
                self._refiner = Refiner(Renderer(image.shape[0]))
            refinement = self._refiner.refine(recipe, image, landmarks)
            self.done.emit(recipe, refinement.recipe, refinement.seconds)
        except Exception as exc:  # a GL or model failure must not kill the app: the artist is told
            log.exception("refinement failed")
            self.failed.emit(f"Refine likeness failed: {type(exc).__name__}: {exc}")
        finally:
            self.running = False

    def _apply(self, start: Recipe, refined: Recipe, seconds: float) -> None:
        if self._state.recipe != start:
            self._messages.say("The recipe changed while refining: refinement dropped (run it again)")
            return
        self._editor.commit(refined, UNDO_TEXT)
        self._messages.say(f"Likeness refined in {seconds:.1f} s (undo to go back)")
