"""A slider that makes a visible fold gets a warning mark; its button removes the fold and keeps the slider.

Grace Hopper's predicted head (tests/data) folds beside the nostrils when "Nose scale horiz" goes to
-0.3; at her predicted value it does not.
"""

from __future__ import annotations

from pathlib import Path

from f2p_engine.recipe import read_mhm
from f2p_engine.render.folds import on_fold_thread

NOSE_WIDTH = "nose/nose-scale-horiz-decr|incr"
GRACE = Path(__file__).parents[1] / "data" / "grace_hopper_predicted.mhm"


def test_narrowing_graces_nose_marks_that_slider_and_its_button_unfolds_the_head(make_window, qtbot):
    window = make_window()
    grace = read_mhm(GRACE).recipe
    window.editor.open(grace, GRACE)
    panel = window.panel
    row = panel.rows[NOSE_WIDTH]
    qtbot.waitUntil(lambda: window.fold_watch.checked == grace, timeout=10000)
    assert row.fold_button.isHidden()

    row.spin.setValue(-0.3)
    qtbot.waitUntil(lambda: not row.fold_button.isHidden(), timeout=10000)
    assert panel.folded == {NOSE_WIDTH}
    assert panel.sections["nose"].text().startswith("⚠")
    assert not panel.rows["nose/nose-trans-down|up"].fold_button.isVisibleTo(panel)

    row.fold_button.click()
    qtbot.waitUntil(lambda: row.fold_button.isHidden(), timeout=20000)
    recipe = window.state.recipe
    assert recipe.value(NOSE_WIDTH) == -0.3
    assert not on_fold_thread(lambda finder: finder.folds(recipe)).result()
    assert window.undo_stack.undoText() == "Remove the fold"
