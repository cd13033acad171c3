"""Recipe edits: widget gestures -> undoable QUndoStack commands on the studio state.

Recipes are immutable, so a command simply carries the recipe before and after. A slider drag
updates the state live on every step and becomes one command when the slider is released.
The symmetry lock is applied here, so every widget that edits a left/right parameter gets it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from PySide6.QtGui import QUndoCommand, QUndoStack

from app.state import StudioState
from f2p_engine.headmodel import schema
from f2p_engine.recipe import Recipe


class RecipeCommand(QUndoCommand):
    """One undoable edit: (text, old recipe, new recipe)."""

    def __init__(self, state: StudioState, text: str, old: Recipe, new: Recipe) -> None:
        super().__init__(text)
        self._state, self.old, self.new = state, old, new

    def redo(self) -> None:
        self._state.set_recipe(self.new)

    def undo(self) -> None:
        self._state.set_recipe(self.old)


class RecipeEditor:
    """The one writer of `state.recipe` for interactive edits; every edit lands on `stack`."""

    def __init__(self, state: StudioState, stack: QUndoStack) -> None:
        self.state = state
        self.stack = stack
        #: Editing a left/right parameter sets its mirror partner to the same value.
        self.symmetry_lock = True
        self._drag_start: Recipe | None = None
        stack.cleanChanged.connect(self._clean_changed)
        self._attached = True

    def _clean_changed(self, clean: bool) -> None:
        self.state.set_dirty(not clean)

    def detach(self) -> None:
        """Stop following the stack: a stack being destroyed emits cleanChanged into dead widgets."""
        if self._attached:
            self._attached = False
            self.stack.cleanChanged.disconnect(self._clean_changed)

    def with_mirrors(self, values: Mapping[str, float]) -> dict[str, float]:
        """`values` plus, under the symmetry lock, the same value for each left/right partner."""
        out = dict(values)
        if self.symmetry_lock:
            params = schema.continuous_by_name()
            for name, value in values.items():
                mirror = params[name].mirror if name in params else None
                if mirror is not None:
                    out.setdefault(mirror, value)
        return out

    def set_values(self, values: Mapping[str, float], text: str = "") -> None:
        """Set slider values (clamped by the recipe); live during a drag, else one undoable step."""
        new = self.state.recipe.with_values(self.with_mirrors(values))
        if self._drag_start is not None:
            self.state.set_recipe(new)
        else:
            self.commit(new, text or _describe(values))

    def begin_drag(self) -> None:
        self._drag_start = self.state.recipe
        self.state.set_dragging(True)

    def end_drag(self, text: str) -> None:
        start, self._drag_start = self._drag_start, None
        if start is not None and start != self.state.recipe:
            self.stack.push(RecipeCommand(self.state, text, start, self.state.recipe))
        self.state.set_dragging(False)

    def set_choice(self, group: str, option: str) -> None:
        if self.state.recipe.choice(group) != option:
            label = schema.discrete_by_name()[group].label
            self.commit(self.state.recipe.with_choice(group, option), f"{label}: {option}")

    def reset(self, names: Iterable[str], text: str) -> None:
        """Return sliders to the prediction (or to their defaults when nothing was predicted)."""
        names = list(names)
        self.commit(self.state.recipe.with_values(
            self.with_mirrors({n: self.state.reference_value(n) for n in names})), text)

    def reset_all(self, text: str = "Reset all") -> None:
        """Every slider and every predicted choice back to the prediction (or the defaults)."""
        recipe = self.state.recipe
        for group in schema.DISCRETE_GROUPS:
            if group.predicted:
                recipe = recipe.with_choice(group.name, self.state.reference_choice(group.name))
        values = {p.name: self.state.reference_value(p.name) for p in schema.CONTINUOUS}
        self.commit(recipe.with_values(values), text)

    def commit(self, new: Recipe, text: str) -> None:
        """Make `new` current as one undoable step (nothing is pushed if it changes nothing)."""
        if new != self.state.recipe:
            self.stack.push(RecipeCommand(self.state, text, self.state.recipe, new))

    def open(self, recipe: Recipe, path: Path | None) -> None:
        """A freshly opened document: current, unmodified, with an empty undo history. It has no photo
        and no prediction (a recipe file is its own session): the file's values are what rows are
        compared with and reset to, so nothing shows as edited until the artist edits."""
        self._drag_start = None
        self.stack.clear()
        self.state.set_predicted(None)
        self.state.set_photo(None)
        self.state.set_baseline(recipe)
        self.state.open_document(recipe, path)

    def new_session(self, photo_name: str) -> None:
        """A new photo: the neutral head named after the photo (the artist's own choices, such as the
        eyebrows, carry over), no prediction yet, an empty undo history. Undo never crosses photos."""
        self._drag_start = None
        self.stack.clear()
        recipe = Recipe(name=Path(photo_name).stem or "face")
        for group in schema.DISCRETE_GROUPS:
            if not group.predicted:
                recipe = recipe.with_choice(group.name, self.state.recipe.choice(group.name))
        self.state.set_predicted(None)
        self.state.set_baseline(None)
        self.state.open_document(recipe, None)

    def start_from(self, recipe: Recipe) -> None:
        """`recipe` becomes where this session's undo history starts (nothing to undo back past it);
        the session is unsaved until it is saved."""
        self._drag_start = None
        self.stack.clear()
        self.state.set_recipe(recipe)
        self.stack.resetClean()  # never clean until saved: the prediction itself is worth autosaving

    def apply_prediction(self, predicted: Recipe) -> None:
        """The prediction becomes current, keeping the artist's own choices and those the models did not make
        (models trained before a group existed leave it unset). On a fresh photo it is where undo stops (one
        Ctrl+Z too many must not bring back the neutral head); over the artist's edits (another adapter) it
        is one undoable step."""
        recipe = self.state.recipe
        for group in schema.DISCRETE_GROUPS:
            if group.predicted and predicted.sets(group.name):
                recipe = recipe.with_choice(group.name, predicted.choice(group.name))
        recipe = recipe.with_values({p.name: predicted.value(p.name) for p in schema.CONTINUOUS})
        if self.stack.count() == 0:
            self.start_from(recipe)
        else:
            self.commit(recipe, "Apply prediction")


def _describe(values: Mapping[str, float]) -> str:
    params = schema.continuous_by_name()
    names = [params[n].label if n in params else n for n in values]
    return "Set " + ", ".join(names)
