"""The parameter panel: every schema slider grouped by region, the discrete choices, search, resets.

Built entirely from `f2p_engine.headmodel.schema` (the one list of parameters). Each slider shows
a marker at the predicted value; resets return to the prediction (or to the defaults when there
is none). Rows whose value differs from that reference are marked as edited ("•", in colour) and
"Changed only" shows just those. Labels too long for the panel end in "…" and show the whole
label in their tooltip. A recipe value no slider can show (NaN, infinite) is refused with one line
(`unshowable`) before it reaches the widgets; any other value is clamped to the slider.
Widgets never write the recipe themselves: gestures go to the `RecipeEditor`, and the
panel follows `state.recipe_changed`, with widget signals blocked while it does.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPoint, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPaintEvent, QPixmap, QPolygon
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from app.edits import RecipeEditor
from app.state import StudioState
from f2p_engine.files import resources_dir
from f2p_engine.headmodel import schema
from f2p_engine.recipe import Recipe

#: Slider resolution: steps across a parameter's whole range.
STEPS = 1000
_REGION_TITLES = {"macro": "Macro details", "head": "Head shape"}
_MARKER = QColor(255, 170, 40)
_EDITED_STYLE = "color: rgb(255, 170, 40);"


class ElidedLabel(QLabel):
    """A label that ends in "…" when it is too narrow for its text; the tooltip has the whole text."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setToolTip(text)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def shown_text(self) -> str:
        """The text as drawn at the current width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().windowText().color())
        painter.drawText(self.contentsRect(), int(self.alignment()), self.shown_text())
        painter.end()


class MarkedSlider(QSlider):
    """A horizontal slider that can draw a marker (the predicted value) under its groove."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setRange(0, STEPS)
        self.marker: int | None = None

    def set_marker(self, position: int | None) -> None:
        if position != self.marker:
            self.marker = position
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.marker is None:
            return
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        groove = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                             QStyle.SubControl.SC_SliderGroove, self)
        handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                             QStyle.SubControl.SC_SliderHandle, self)
        span = groove.width() - handle.width()
        x = groove.x() + handle.width() // 2 + QStyle.sliderPositionFromValue(0, STEPS, self.marker, span)
        bottom = self.height() - 1
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_MARKER)
        painter.drawPolygon(QPolygon([QPoint(x, bottom - 6), QPoint(x - 4, bottom), QPoint(x + 4, bottom)]))
        painter.end()


class SliderRow(QWidget):
    """Label, slider with prediction marker, exact-value spin box and a reset button for one parameter."""

    def __init__(self, param: schema.ContinuousParam, editor: RecipeEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        self._editor = editor
        self.label = ElidedLabel(param.label)
        self.label.setToolTip(f"{param.label}\n{param.name}")
        self.label.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        #: The value differs from the prediction (or the default when nothing was predicted).
        self.edited = False
        self._shown: tuple[float, float] | None = None  # (value, reference) last pushed into the widgets
        self.slider = MarkedSlider()
        self.slider.setToolTip(param.name)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(param.minimum, param.maximum)
        self.spin.setDecimals(3)
        self.spin.setSingleStep(0.01)
        self.spin.setKeyboardTracking(False)
        self.spin.setFixedWidth(72)
        self.reset_button = QToolButton()
        self.reset_button.setText("↺")
        self.reset_button.setToolTip("Reset to the predicted value (the default if nothing was predicted)")

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 5)
        layout.addWidget(self.slider, 4)
        layout.addWidget(self.spin)
        layout.addWidget(self.reset_button)

        self.slider.sliderPressed.connect(editor.begin_drag)
        self.slider.sliderReleased.connect(lambda: editor.end_drag(f"Set {param.label}"))
        self.slider.valueChanged.connect(lambda step: self._edit(self.to_value(step)))
        self.spin.valueChanged.connect(self._edit)
        self.reset_button.clicked.connect(lambda: editor.reset([param.name], f"Reset {param.label}"))

    def to_value(self, step: int) -> float:
        return self.param.denormalise(step / STEPS)

    def to_step(self, value: float) -> int:
        """Slider position of `value`, clamped to the slider (huge values land at an end)."""
        return round(min(max(self.param.normalise(value), 0.0), 1.0) * STEPS)

    def _edit(self, value: float) -> None:
        self._editor.set_values({self.param.name: value}, f"Set {self.param.label}")

    def show_value(self, value: float, reference: float) -> bool:
        """Push the recipe's value into the widgets without echoing it back as an edit; mark the row
        edited when it differs from `reference`. A non-finite value is not shown (see `unshowable`).
        True when the row's edited mark changed."""
        if not math.isfinite(value) or (value, reference) == self._shown:
            return False  # a drag changes one or two rows: the other hundred need nothing
        self._shown = (value, reference)
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            if not self.slider.isSliderDown():
                self.slider.setValue(self.to_step(value))
            self.spin.setValue(value)
        edited = abs(value - reference) > 5e-4
        if edited == self.edited:
            return False
        self.edited = edited
        self.label.setText(("• " if edited else "") + self.param.label)
        self.label.setStyleSheet(_EDITED_STYLE if edited else "")
        return True

    def show_prediction(self, value: float | None) -> None:
        self.slider.set_marker(None if value is None else self.to_step(value))
        tip = self.param.name if value is None else f"{self.param.name}\npredicted: {value:.3f}"
        self.slider.setToolTip(tip)

    def matches(self, text: str, changed_only: bool = False) -> bool:
        text = text.strip().lower()
        if changed_only and not self.edited:
            return False
        return not text or text in self.param.label.lower() or text in self.param.name.lower()


class QtParameterPanel(QWidget):
    """Sliders by region in collapsible sections, choices, search, "changed only", symmetry lock and resets."""

    #: One line saying why a recipe cannot be shown.
    refused = Signal(str)

    def __init__(self, state: StudioState, editor: RecipeEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.editor = editor

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search sliders…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _text: self.filter())
        self.changed_only = QCheckBox("Changed only")
        self.changed_only.setToolTip("Show only the sliders you moved away from the prediction (or the default)")
        self.changed_only.toggled.connect(lambda _on: self.filter())
        self.symmetry = QCheckBox("Symmetry lock")
        self.symmetry.setToolTip("Moving a left or right slider moves its partner too")
        self.symmetry.setChecked(editor.symmetry_lock)
        self.symmetry.toggled.connect(lambda on: setattr(editor, "symmetry_lock", on))
        self.reset_all_button = QPushButton("Reset all")
        self.reset_all_button.setToolTip("Every slider and predicted choice back to the prediction")
        self.reset_all_button.clicked.connect(lambda: editor.reset_all())
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.changed_only)
        top.addWidget(self.symmetry)
        top.addWidget(self.reset_all_button)

        choices = QFormLayout()
        self.combos: dict[str, QComboBox] = {}
        for group in schema.DISCRETE_GROUPS:
            combo = QComboBox()
            for option in group.options:
                combo.addItem(option.replace("_", " "), option)
            combo.activated.connect(lambda index, g=group.name, c=combo: editor.set_choice(g, c.itemData(index)))
            label = group.label if group.predicted else f"{group.label} (your choice)"
            choices.addRow(label, combo)
            self.combos[group.name] = combo
            _add_thumbnails(combo, group.name)

        self.rows: dict[str, SliderRow] = {}
        self.sections: dict[str, QCollapsible] = {}
        self.region_resets: dict[str, QPushButton] = {}
        body = QWidget()
        sections = QVBoxLayout(body)
        sections.setContentsMargins(0, 0, 4, 0)
        for region in schema.REGIONS:
            params = schema.params_in_region(region)
            title = _REGION_TITLES.get(region, region.capitalize())
            section = QCollapsible(_section_title(region, self.state.confidence), expandedIcon="▼",
                                   collapsedIcon="▶")
            reset = QPushButton(f"Reset {title.lower()}")
            reset.clicked.connect(lambda _=False, p=params, t=title: editor.reset(
                [q.name for q in p], f"Reset {t.lower()}"))
            section.addWidget(reset)
            self.region_resets[region] = reset
            for param in params:
                row = SliderRow(param, editor)
                section.addWidget(row)
                self.rows[param.name] = row
            sections.addWidget(section)
            self.sections[region] = section
        sections.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.setMinimumWidth(300)  # the splitter beside it resizes the panel; labels elide
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(choices)
        layout.addWidget(scroll, 1)

        state.recipe_changed.connect(self.show_recipe)
        state.predicted_changed.connect(self.show_prediction)
        self.show_recipe(state.recipe)
        self.show_prediction(state.predicted)
        self.sections["macro"].expand(animate=False)

    def unshowable(self, recipe: Recipe) -> str:
        """Why `recipe` cannot be shown (a schema value that is not a finite number), or ""."""
        for name, row in self.rows.items():
            if not math.isfinite(value := recipe.value(name)):
                return f"{row.param.label} ({name}) is {value}, not a number a slider can show"
        return ""

    def show_recipe(self, recipe: Recipe) -> None:
        if problem := self.unshowable(recipe):
            self.refused.emit(problem)
        flipped = [row.show_value(recipe.value(name), self.state.reference_value(name))
                   for name, row in self.rows.items()]
        self._refilter(any(flipped))
        for group, combo in self.combos.items():
            with QSignalBlocker(combo):
                combo.setCurrentIndex(combo.findData(recipe.choice(group)))

    def show_prediction(self, predicted: Recipe | None) -> None:
        for region, section in self.sections.items():
            section.setText(_section_title(region, self.state.confidence))
        flipped = False
        for name, row in self.rows.items():
            row.show_prediction(None if predicted is None else predicted.value(name))
            flipped |= row.show_value(self.state.recipe.value(name), self.state.reference_value(name))
        self._refilter(flipped)
        for group in schema.DISCRETE_GROUPS:
            combo = self.combos[group.name]
            for index, option in enumerate(group.options):
                mark = predicted is not None and group.predicted and predicted.choice(group.name) == option
                combo.setItemText(index, option.replace("_", " ") + (" (predicted)" if mark else ""))

    def _refilter(self, marks_changed: bool) -> None:
        """Keep "Changed only" true after undo, reset or a new prediction; not during a drag, so the row
        under the mouse does not vanish when it passes its reference."""
        if marks_changed and self.changed_only.isChecked() and \
                not any(row.slider.isSliderDown() for row in self.rows.values()):
            self.filter()

    def filter(self) -> None:
        """Show only sliders whose label or modifier name contains the search text (and, with "Changed
        only", that are edited); open the sections with hits while filtering."""
        text, changed_only = self.search.text(), self.changed_only.isChecked()
        for region, section in self.sections.items():
            hits = 0
            for param in schema.params_in_region(region):
                row = self.rows[param.name]
                row.setVisible(row.matches(text, changed_only))
                hits += row.matches(text, changed_only)
            section.setVisible(hits > 0)
            if (text.strip() or changed_only) and hits:
                section.expand(animate=False)


#: Side of one option's thumbnail in `resources/proxies/thumbnails_<group>.png` (scripts/build_proxy_thumbnails.py).
THUMBNAIL_SIZE = 64


def _add_thumbnails(combo: QComboBox, group: str) -> None:
    """Give each option of `combo` its picture, if the group has a thumbnail strip (hair, eyebrows, eyelashes):
    the artist picks a style by its look, not its MakeHuman file name."""
    strip = QPixmap(str(resources_dir() / "proxies" / f"thumbnails_{group}.png"))
    if strip.isNull() or strip.width() != combo.count() * THUMBNAIL_SIZE:
        return
    for index in range(combo.count()):
        combo.setItemIcon(index, QIcon(strip.copy(index * THUMBNAIL_SIZE, 0, THUMBNAIL_SIZE, THUMBNAIL_SIZE)))
    combo.setIconSize(QSize(48, 48))


def _section_title(region: schema.Region, confidence: dict[str, float]) -> str:
    """"Nose (21)", plus the prediction's confidence for the region when there is one."""
    title = f"{_REGION_TITLES.get(region, region.capitalize())} ({len(schema.params_in_region(region))})"
    return f"{title} · confidence {confidence[region]:.0%}" if region in confidence else title
