"""The parameter panel: every schema slider grouped by region, the discrete choices, search, resets.

Built entirely from `f2p_engine.headmodel.schema` (the one list of parameters). Each slider shows
a marker at the predicted value; resets return to the prediction (or to the defaults when there
is none). Rows whose value differs from that reference are marked as edited ("•", in colour) and
"Changed only" shows just those. Each row is two lines: the slider's before/after icon
(`app.slider_icons`) beside its human name from the schema, then a groove as wide as the panel
(Shift-drag for fine steps); the tooltip has the schema's one-line description. Names fit the
narrowest panel; were one too long, it would end in "…". The search matches names, descriptions,
MakeHuman names and the region's synonyms (jaw, cheekbone, lips...). Rows of closed sections are
built when first needed, so start-up does not wait for them. A recipe value no slider can
show (NaN, infinite) is refused with one line (`unshowable`) before it reaches the widgets; any
other value is clamped to the slider.
Widgets never write the recipe themselves: gestures go to the `RecipeEditor`, and the
panel follows `state.recipe_changed`, with widget signals blocked while it does.
"""

from __future__ import annotations

import html
import math

from PySide6.QtCore import QEasingCurve, QPoint, QPropertyAnimation, QRect, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QMouseEvent, QPainter, QPaintEvent, QPalette, QPixmap, QPolygon, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
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

from app.edits import RecipeEditor
from app.fold_watch import QtFoldWatch
from app.slider_icons import QtSliderIcons, icon_path
from app.state import StudioState
from f2p_engine.files import resources_dir
from f2p_engine.headmodel import schema
from f2p_engine.recipe import Recipe

#: Slider resolution: steps across a parameter's whole range.
STEPS = 1000
#: With Shift held, a drag moves the handle this many times slower than the mouse.
FINE_DRAG = 10
#: Width of a row's before/after icon (half as high).
ROW_ICON_WIDTH = 64
_REGION_TITLES = {"macro": "Macro details", "head": "Head shape"}
_MARKER = QColor(255, 170, 40)
_EDITED_STYLE = "color: rgb(255, 170, 40);"
_FOLD_STYLE = "QToolButton { color: rgb(235, 70, 60); font-weight: bold; }"


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


class Section(QWidget):
    """A titled section of the panel whose body opens and closes under its header button (▶ closed,
    ▼ open); a click slides it open or shut, `expand` and `collapse` switch at once. Ours rather than
    superqt's QCollapsible: importing superqt (and qtpy under it) took ~0.2 s of the studio's start-up."""

    #: Opened (True) or closed (False) by the artist or by `expand` / `collapse`.
    toggled = Signal(bool)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = QPushButton(title)
        self.header.setCheckable(True)
        self.header.setStyleSheet("text-align: left; border: none; outline: none;")
        self._icons = {True: self._arrow("▼"), False: self._arrow("▶")}
        self.header.setIcon(self._icons[False])
        self.body = QWidget()
        self._rows = QVBoxLayout(self.body)
        self._rows.setContentsMargins(5, 0, 0, 0)
        self.body.setMaximumHeight(0)  # closed: squeezed, not hidden (its rows stay visible to filters)
        self._slide = QPropertyAnimation(self.body, b"maximumHeight", self)
        self._slide.setDuration(200)
        self._slide.setEasingCurve(QEasingCurve.Type.InOutCubic)
        self._slide.finished.connect(self._slid)
        layout = QVBoxLayout(self)
        layout.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.header)
        layout.addWidget(self.body)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.header.toggled.connect(lambda on: self._show(on, slide=True))

    def _arrow(self, symbol: str) -> QIcon:
        size = self.header.font().pointSize()
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setPen(self.header.palette().color(QPalette.ColorRole.WindowText))
        painter.drawText(QRect(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, symbol)
        painter.end()
        return QIcon(pixmap)

    def addWidget(self, widget: QWidget) -> None:
        self._rows.addWidget(widget)

    def text(self) -> str:
        return self.header.text()

    def setText(self, text: str) -> None:
        self.header.setText(text)

    def isExpanded(self) -> bool:
        return self.header.isChecked()

    def expand(self) -> None:
        self._show(True, slide=False)

    def collapse(self) -> None:
        self._show(False, slide=False)

    def _show(self, on: bool, *, slide: bool) -> None:
        with QSignalBlocker(self.header):
            self.header.setChecked(on)
        self.header.setIcon(self._icons[on])
        self._slide.stop()
        self.toggled.emit(on)  # before it opens: the rows of a section are built when it first opens
        if slide:
            self._slide.setStartValue(self.body.height())
            self._slide.setEndValue(self.body.sizeHint().height() if on else 0)
            self._slide.start()
        else:
            self._slid()

    def _slid(self) -> None:
        """Open: no height limit (rows may still come and go); closed: none of its height."""
        self.body.setMaximumHeight(_NO_LIMIT if self.isExpanded() else 0)


#: Qt's QWIDGETSIZE_MAX: no maximum height.
_NO_LIMIT = 16777215


class MarkedSlider(QSlider):
    """A horizontal slider that can draw a marker (the predicted value) under its groove. Dragging with
    Shift held moves the handle `FINE_DRAG` times slower than the mouse, for fine adjustments."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setRange(0, STEPS)
        self.marker: int | None = None
        self._fine: tuple[float, float] | None = None  # (mouse x, slider position) where the fine drag is

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        if not (self.isSliderDown() and event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self._fine = None
            super().mouseMoveEvent(event)
            return
        last_x, position = self._fine or (x, float(self.sliderPosition()))
        span = max(self._groove_span(), 1)
        position = min(max(position + (x - last_x) * STEPS / span / FINE_DRAG, 0.0), float(STEPS))
        self._fine = (x, position)
        self.setSliderPosition(round(position))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._fine = None
        super().mouseReleaseEvent(event)

    def _groove_span(self) -> int:
        """Pixels the handle travels from one end to the other."""
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        style = self.style()
        groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self)
        handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self)
        return groove.width() - handle.width()

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
        self.label.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        #: The before/after picture (`app.slider_icons`), empty until it is built.
        self.icon = QLabel()
        self.icon.setFixedSize(ROW_ICON_WIDTH, ROW_ICON_WIDTH // 2)
        self.show_icon(None)
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
        self.fold_button = QToolButton()
        self.fold_button.setText("⚠")
        self.fold_button.setStyleSheet(_FOLD_STYLE)
        self.fold_button.setToolTip("This value makes a visible fold: the inside of the head shows through the "
                                    "skin.\nClick to move the sliders that bend the skin there to the nearest "
                                    "values without a fold, keeping this one.")
        retain = self.fold_button.sizePolicy()
        retain.setRetainSizeWhenHidden(True)  # rows keep their widths when a mark comes and goes
        self.fold_button.setSizePolicy(retain)
        self.fold_button.hide()
        self.reset_button = QToolButton()
        self.reset_button.setText("↺")
        self.reset_button.setToolTip("Reset to the predicted value (the default if nothing was predicted)")

        # Two lines: the icon and the whole label, then a slider groove as wide as the panel allows.
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setVerticalSpacing(0)
        layout.addWidget(self.icon, 0, 0)
        layout.addWidget(self.label, 0, 1, 1, 4)
        layout.addWidget(self.slider, 1, 0, 1, 2)
        layout.addWidget(self.spin, 1, 2)
        layout.addWidget(self.fold_button, 1, 3)
        layout.addWidget(self.reset_button, 1, 4)
        layout.setColumnStretch(1, 1)

        self.slider.sliderPressed.connect(editor.begin_drag)
        self.slider.sliderReleased.connect(lambda: editor.end_drag(f"Set {param.label}"))
        self.slider.valueChanged.connect(lambda step: self._edit(self.to_value(step)))
        self.spin.valueChanged.connect(self._edit)
        self.reset_button.clicked.connect(lambda: editor.reset([param.name], f"Reset {param.label}"))

    def show_icon(self, pixmap: QPixmap | None, path: str = "") -> None:
        """The slider's before/after icon (`None`: not built yet) and a tooltip saying what it does."""
        if pixmap is not None:
            self.icon.setPixmap(pixmap.scaled(self.icon.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))
        picture = f"<br><img src='{path}'>" if path else ""
        tip = (f"<b>{html.escape(self.param.label)}</b><br>{html.escape(self.param.description)}{picture}"
               f"<br><small>{html.escape(self.param.name)}</small>")
        self.label.setToolTip(tip)
        self.icon.setToolTip(tip)

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
        if changed_only and not self.edited:
            return False
        return self.param.matches(text)


class QtParameterPanel(QWidget):
    """Sliders by region in collapsible sections, choices, search, "changed only", symmetry lock and resets."""

    #: One line saying why a recipe cannot be shown.
    refused = Signal(str)

    def __init__(self, state: StudioState, editor: RecipeEditor, folds: QtFoldWatch | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.editor = editor
        #: Sliders marked as making a visible fold.
        self.folded: frozenset[str] = frozenset()

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
        choices.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a narrow panel: labels above
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

        self._rows: dict[str, SliderRow] = {}  # built so far (see `rows`)
        self._recipe = state.recipe  # the recipe last shown: rows built later show it too
        self.icons = QtSliderIcons(self)
        self.icons.ready.connect(self._show_icon)
        self._icons_started = False
        self._folds = folds
        self.sections: dict[str, Section] = {}
        self.region_resets: dict[str, QPushButton] = {}
        body = QWidget()
        sections = QVBoxLayout(body)
        sections.setContentsMargins(0, 0, 4, 0)
        for region in schema.REGIONS:
            params = schema.params_in_region(region)
            title = _REGION_TITLES.get(region, region.capitalize())
            section = Section(_section_title(region, self.state.confidence))
            reset = QPushButton(f"Reset {title.lower()}")
            reset.clicked.connect(lambda _=False, p=params, t=title: editor.reset(
                [q.name for q in p], f"Reset {t.lower()}"))
            section.addWidget(reset)
            self.region_resets[region] = reset
            section.toggled.connect(lambda _on, r=region: self._build_region(r))
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
        if folds is not None:
            folds.changed.connect(self.show_folds)
            folds.unfolded.connect(lambda _asked, found: editor.commit(found, "Remove the fold"))
        self._build_region("macro")
        self.show_recipe(state.recipe)
        self.show_prediction(state.predicted)
        self.sections["macro"].expand()

    @property
    def rows(self) -> dict[str, SliderRow]:
        """Every slider row by schema name. Rows of the sections that start closed are built when first
        needed: the section opens, a search or "Changed only" looks at them, or they are asked for here
        (start-up does not wait for 110 rows, nor does the GUI thread build them behind a live preview)."""
        for region in schema.REGIONS:
            self._build_region(region)
        return self._rows

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._icons_started:
            self._icons_started = True
            self.icons.start()

    def _show_icon(self, name: str, pixmap: QPixmap) -> None:
        if name in self._rows:
            self._rows[name].show_icon(pixmap, str(icon_path(name)))

    def _build_region(self, region: schema.Region) -> None:
        """The slider rows of `region`'s section, showing the current recipe, prediction and fold marks."""
        params = schema.params_in_region(region)
        if not params or params[0].name in self._rows:
            return
        predicted = self.state.predicted
        for param in params:
            row = SliderRow(param, self.editor)
            if self._folds is not None:
                row.fold_button.clicked.connect(lambda _=False, n=param.name, f=self._folds: f.unfold(n))
            row.show_prediction(None if predicted is None else predicted.value(param.name))
            row.show_value(self._recipe.value(param.name), self.state.reference_value(param.name))
            row.fold_button.setVisible(param.name in self.folded)
            if (icon := self.icons.cached(param.name)) is not None:
                row.show_icon(icon, str(icon_path(param.name)))
            self.sections[region].addWidget(row)
            self._rows[param.name] = row
    def unshowable(self, recipe: Recipe) -> str:
        """Why `recipe` cannot be shown (a schema value that is not a finite number), or ""."""
        for param in schema.CONTINUOUS:
            if not math.isfinite(value := recipe.value(param.name)):
                return f"{param.label} ({param.name}) is {value}, not a number a slider can show"
        return ""

    def show_recipe(self, recipe: Recipe) -> None:
        self._recipe = recipe
        if problem := self.unshowable(recipe):
            self.refused.emit(problem)
        flipped = [row.show_value(recipe.value(name), self.state.reference_value(name))
                   for name, row in self._rows.items()]
        self._refilter(any(flipped))
        for group, combo in self.combos.items():
            with QSignalBlocker(combo):
                combo.setCurrentIndex(combo.findData(recipe.choice(group)))

    def show_prediction(self, predicted: Recipe | None) -> None:
        for region, section in self.sections.items():
            section.setText(self._title(region))
        flipped = False
        for name, row in self._rows.items():
            row.show_prediction(None if predicted is None else predicted.value(name))
            flipped |= row.show_value(self.state.recipe.value(name), self.state.reference_value(name))
        self._refilter(flipped)
        for group in schema.DISCRETE_GROUPS:
            combo = self.combos[group.name]
            for index, option in enumerate(group.options):
                mark = predicted is not None and group.predicted and predicted.choice(group.name) == option
                how = self.state.choice_sources.get(group.name, "predicted")
                combo.setItemText(index, option.replace("_", " ") + (f" ({how})" if mark else ""))

    def show_folds(self, names: frozenset[str]) -> None:
        """Warning marks on the sliders that make a visible fold (see `app.fold_watch`)."""
        self.folded = frozenset(names)
        for name, row in self._rows.items():
            row.fold_button.setVisible(name in names)
        for region, section in self.sections.items():
            section.setText(self._title(region))

    def _title(self, region: schema.Region) -> str:
        folded = any(p.name in self.folded for p in schema.params_in_region(region))
        return ("⚠ " if folded else "") + _section_title(region, self.state.confidence)

    def _refilter(self, marks_changed: bool) -> None:
        """Keep "Changed only" true after undo, reset or a new prediction; not during a drag, so the row
        under the mouse does not vanish when it passes its reference."""
        if marks_changed and self.changed_only.isChecked() and \
                not any(row.slider.isSliderDown() for row in self._rows.values()):
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
                section.expand()


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
