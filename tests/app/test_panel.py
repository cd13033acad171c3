"""The parameter panel and menus as an artist meets them: labels, edited marks, filters, shortcuts, bad values."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QKeySequence, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from f2p_engine.headmodel import schema
from f2p_engine.recipe import Recipe, write_json

NOSE = "nose/nose-trans-down|up"
LONG = "nose/nose-nostrils-width-decr|incr"


def _cut(window) -> list[str]:
    return [row.param.label for row in window.panel.rows.values() if row.label.shown_text() != row.label.text()]


def test_labels_are_never_cut_at_1280x720_or_in_the_narrowest_panel(make_window, qtbot):
    """Every slider name, and every choice, shows whole in the smallest window ("Gender (female - …" and
    "young caucasian female (predicte" were cut); the tooltip says what the slider does."""
    window = make_window()
    window.resize(1280, 720)
    for section in window.panel.sections.values():
        section.expand()
    row = window.panel.rows[LONG]
    qtbot.waitUntil(lambda: window.width() == 1280 and row.label.width() > 0)
    qtbot.wait(100)  # rows built after the window showed get their layout
    assert _cut(window) == []
    for combo in window.panel.combos.values():
        for index in range(combo.count()):
            combo.setCurrentIndex(index)
            text = combo.fontMetrics().horizontalAdvance(combo.currentText())
            assert combo.width() >= text + 24, combo.currentText()
    window.splitter.setSizes([window.width() - 320, 320])  # the narrowest panel
    qtbot.waitUntil(lambda: window.panel.width() <= 330)
    qtbot.wait(100)
    assert _cut(window) == []
    assert row.param.description in row.label.toolTip()


def test_slider_grooves_are_long(make_window, qtbot):
    """A slider's groove takes the row's width (it was 130 px for 1000 steps at 1280x720)."""
    window = make_window()
    window.resize(1280, 720)
    row = window.panel.rows["macrodetails/Age"]
    qtbot.waitUntil(lambda: window.width() == 1280)
    qtbot.wait(100)
    assert row.slider.width() >= 200


def test_shift_drag_moves_the_slider_ten_times_slower(make_window, qtbot):
    window = make_window()
    row = window.panel.rows["macrodetails/Age"]
    slider = row.slider
    qtbot.waitUntil(lambda: slider.width() > 100)
    start = slider.value()
    handle = QPoint(round(slider.width() * start / 1000), slider.height() // 2)
    QTest.mousePress(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, handle)
    for dx in range(0, 101, 10):  # QTest's mouse moves carry no modifiers: Shift-moves are sent as events
        event = QMouseEvent(QEvent.Type.MouseMove, QPointF(handle + QPoint(dx, 0)), QPointF(), QPointF(),
                            Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier)
        QApplication.sendEvent(slider, event)
    fine = slider.value() - start
    QTest.mouseRelease(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, handle + QPoint(100, 0))
    span = slider._groove_span()
    assert fine == pytest.approx(100 * 1000 / span / 10, abs=3)


@pytest.mark.parametrize(("query", "expected"), [("jaw", "Jaw width"), ("cheekbone", "Left cheekbone"),
                                                 ("lips", "Upper lip fullness"), ("nostril", "Nostril flare")])
def test_search_finds_sliders_by_the_words_artists_use(make_window, query, expected):
    window = make_window()
    window.panel.search.setText(query)
    shown = [row.param.label for row in window.panel.rows.values() if row.isVisibleTo(window.panel)]
    assert expected in shown
    assert len(shown) >= 3  # "jaw" found one slider: now the chin and jaw ones


def test_edited_sliders_are_marked_and_changed_only_shows_them(make_window):
    window = make_window()
    panel = window.panel
    panel.rows[NOSE].spin.setValue(0.5)
    panel.rows["chin/chin-width-decr|incr"].spin.setValue(-0.3)
    assert panel.rows[NOSE].edited
    assert panel.rows[NOSE].label.text().startswith("• ")
    assert not panel.rows[LONG].edited
    panel.changed_only.setChecked(True)
    visible = {name for name, row in panel.rows.items() if row.isVisibleTo(panel)}
    assert visible == {NOSE, "chin/chin-width-decr|incr"}
    # Edited means "differs from the prediction": a prediction equal to the edit clears the mark.
    window.state.set_predicted(window.state.recipe)
    assert not panel.rows[NOSE].edited
    panel.changed_only.setChecked(False)
    assert all(row.isVisibleTo(panel) for row in panel.rows.values())


def test_changed_only_follows_undo_and_new_edits(make_window):
    window = make_window()
    panel = window.panel
    panel.changed_only.setChecked(True)
    assert not any(row.isVisibleTo(panel) for row in panel.rows.values())
    panel.rows[NOSE].spin.setValue(0.5)
    assert {name for name, row in panel.rows.items() if row.isVisibleTo(panel)} == {NOSE}
    window.undo_stack.undo()  # back to the default: nothing is changed any more
    assert not any(row.isVisibleTo(panel) for row in panel.rows.values())


def _ink(icon) -> np.ndarray:
    """(H, W) bool: the drawn pixels of an icon at 32 px."""
    image = icon.pixmap(32, 32).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(image.height(), -1, 4)
    return pixels[:, : image.width(), 3] > 128


def test_sections_use_right_and_down_arrows(make_window):
    """Closed sections point right (▶), open ones down (▼): the ink of the arrow says which way."""
    window = make_window()
    section = window.panel.sections["nose"]
    section.collapse()
    closed = _ink(section.header.icon())
    section.expand()
    opened = _ink(section.header.icon())
    columns = closed.sum(axis=0)[closed.any(axis=0)]  # ink per column, left to right
    rows = opened.sum(axis=1)[opened.any(axis=1)]  # ink per row, top to bottom
    assert np.argmax(columns) < len(columns) / 3  # ▶: its tallest column is its left edge
    assert np.argmax(rows) < len(rows) / 3  # ▼: its widest row is its top (▲ would be the bottom)


def test_a_section_opened_by_a_click_shows_all_its_sliders(make_window, qtbot):
    """A section's rows are built when it first opens; a click on a closed section used to slide it open to
    the height it had before its rows existed (the header and an empty strip)."""
    window = make_window()
    section = window.panel.sections["nose"]
    section.findChild(QPushButton).click()  # the header: the section's first button
    rows = [window.panel.rows[param.name] for param in schema.params_in_region("nose")]

    def all_rows_fit() -> bool:
        return section.height() > sum(row.sizeHint().height() for row in rows)

    qtbot.waitUntil(all_rows_fit, timeout=2000)
    qtbot.wait(400)  # the slide has ended where it should
    assert all_rows_fit()


def test_ctrl_y_redoes(make_window, qtbot):
    window = make_window()
    window.panel.rows[NOSE].spin.setValue(0.5)
    window.undo_stack.undo()
    assert window.state.recipe.value(NOSE) == 0.0
    assert QKeySequence("Ctrl+Y") in window.redo_action.shortcuts()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    slider = window.panel.rows[NOSE].slider
    slider.setFocus()
    QTest.keyClick(slider, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert window.state.recipe.value(NOSE) == pytest.approx(0.5)


def test_help_lists_the_shortcuts(make_window, qtbot):
    window = make_window()
    window.shortcuts_action.trigger()
    sheet = window.findChild(QMessageBox, "shortcut_sheet")
    assert sheet is not None
    qtbot.waitUntil(sheet.isVisible)
    text = sheet.text()
    for needed in ("Open Photo", "Capture from Webcam", "Overlay on Photo", "Ctrl+Y", "Ctrl+K"):
        assert needed in text
    sheet.close()


def _json_recipe_with(path, text: str) -> None:
    """An f2p JSON recipe whose nose value is `text` (a literal such as NaN or 1e308), as other tools write."""
    write_json(Recipe().with_values({NOSE: 0.123}), path)
    path.write_text(path.read_text().replace("0.123", text))


@pytest.mark.parametrize("literal", ["NaN", "Infinity"])
def test_recipe_with_a_non_finite_value_is_refused_in_one_line(make_window, tmp_path, literal):
    window = make_window()
    window.panel.rows[NOSE].spin.setValue(0.25)
    before = window.state.recipe
    path = tmp_path / "bad.json"
    _json_recipe_with(path, literal)
    window.guarded(lambda: window.document.open_recipe(path))
    message = window.statusBar().currentMessage()
    assert "bad.json" in message
    assert "non-finite" in message
    assert "\n" not in message
    assert window.state.recipe is before  # nothing reached the widgets


def test_recipe_with_a_huge_value_opens_clamped(make_window, tmp_path):
    window = make_window()
    path = tmp_path / "huge.json"
    _json_recipe_with(path, "1e308")
    window.document.open_recipe(path)  # an OverflowError in the panel before
    row = window.panel.rows[NOSE]
    assert window.state.recipe.value(NOSE) == row.param.maximum
    assert row.slider.value() == row.to_step(row.param.maximum)
    assert "clamped" in window.statusBar().currentMessage()


def test_panel_refuses_values_no_slider_can_show(make_window):
    """A second guard for recipes that reach the panel another way than a file."""
    window = make_window(show=False)
    refused = []
    window.panel.refused.connect(refused.append)
    window.panel.show_recipe(Recipe(modifiers={**Recipe().modifiers, NOSE: float("nan")}))
    assert len(refused) == 1
    assert NOSE in refused[0]
    assert np.isfinite(window.panel.rows[NOSE].spin.value())


def test_huge_values_are_clamped_not_crashing(make_window):
    window = make_window(show=False)
    recipe = Recipe(modifiers={**Recipe().modifiers, NOSE: 1e308})
    window.panel.show_recipe(recipe)  # OverflowError here before
    row = window.panel.rows[NOSE]
    assert row.slider.value() == row.to_step(row.param.maximum)
    assert np.isfinite(row.spin.value())


def test_panel_keeps_every_schema_row(make_window):
    window = make_window(show=False)
    assert len(window.panel.rows) == len(schema.CONTINUOUS)


def test_hair_eyebrow_and_eyelash_options_show_thumbnails_and_set_the_recipe(make_window):
    """Each style option carries its picture (scripts/build_proxy_thumbnails.py); picking one sets the recipe."""
    window = make_window()
    for group, option in (("hair", "bob02"), ("eyebrows", "eyebrow007"), ("eyelashes", "eyelashes03")):
        combo = window.panel.combos[group]
        icons = [combo.itemIcon(i) for i in range(combo.count())]
        assert all(not icon.isNull() for icon in icons), group
        first, last = (icons[i].pixmap(48, 48).toImage() for i in (0, -1))
        assert first != last  # a picture per option, not one picture for all
        combo.activated.emit(combo.findData(option))
        assert window.state.recipe.choice(group) == option
