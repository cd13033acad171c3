"""Edit > Refine Likeness: the engine's refinement off the GUI thread, landing as one undoable step."""

from __future__ import annotations

from app_doubles import FixedPredictor

from app.refine_likeness import UNDO_TEXT
from f2p_engine.headmodel import schema
from f2p_engine.recipe import Recipe

PREDICTED = Recipe().with_values({"nose/nose-scale-horiz-decr|incr": 0.3, "macrodetails/Gender": 0.8})


def test_refine_likeness_is_one_undoable_step_on_the_face_sliders(make_window, astronaut_file, qtbot):
    window = make_window(load_predictor=lambda: FixedPredictor(PREDICTED, {"nose": 0.8}))
    window.capture.open_photo(astronaut_file)
    qtbot.waitUntil(lambda: window.state.predicted is not None, timeout=20000)
    before = window.state.recipe
    steps = window.undo_stack.count()
    window.refine_action.trigger()
    qtbot.waitUntil(lambda: window.undo_stack.count() == steps + 1, timeout=60000)
    assert window.undo_stack.text(steps) == UNDO_TEXT
    refined = window.state.recipe
    face = [p.name for p in schema.CONTINUOUS if p.region != "macro"]
    assert any(refined.value(n) != before.value(n) for n in face)
    assert all(refined.value(p.name) == before.value(p.name) for p in schema.CONTINUOUS if p.region == "macro")
    window.undo_action.trigger()
    assert window.state.recipe == before


def test_refine_likeness_without_a_photo_says_so(make_window):
    window = make_window()
    window.refine_action.trigger()
    assert "open a photo" in window.statusBar().currentMessage()
    assert window.undo_stack.count() == 0
