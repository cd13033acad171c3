"""Before/after icons of the sliders (`f2p_engine.render.slider_icons`), cached on disk, built in the background.

Icons live as PNGs in the user's cache folder (outside the repository), one folder per schema and icon
version. Missing ones are rendered, after the window has settled, on one worker thread (the renderer's
GL context belongs to it), a slider at a time; each arrives through `ready(name, pixmap)` on the GUI
thread. Closing stops the work between icons.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal
from PySide6.QtGui import QPixmap

from f2p_engine.headmodel import schema

log = logging.getLogger(__name__)

#: Wait after the window shows before rendering missing icons (start-up and the first photo come first).
START_AFTER_MS = 3000


def icon_folder() -> Path:
    """Where the icons of this schema are cached."""
    from f2p_engine.render.slider_icons import ICON_VERSION

    base = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation))
    return base / "slider-icons" / f"schema{schema.SCHEMA_VERSION}-icons{ICON_VERSION}"


def icon_path(name: str) -> Path:
    return icon_folder() / (name.replace("/", "__").replace("|", "_") + ".png")


class QtSliderIcons(QObject):
    """The icons by slider name; `ready(name, QPixmap)` for each icon as it becomes available."""

    ready = Signal(str, object)
    _built = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._built.connect(self._load)

    def cached(self, name: str) -> QPixmap | None:
        path = icon_path(name)
        if not path.is_file():
            return None
        pixmap = QPixmap(str(path))
        return None if pixmap.isNull() else pixmap

    def start(self, delay_ms: int | None = None) -> None:
        """Render the icons not yet cached, `delay_ms` (default `START_AFTER_MS`) from now, in the background."""
        QTimer.singleShot(START_AFTER_MS if delay_ms is None else delay_ms, self, self._build_missing)

    def _build_missing(self) -> None:
        missing = [p.name for p in schema.CONTINUOUS if not icon_path(p.name).is_file()]
        if self._closed or not missing:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="f2p-icons")
        self._executor.submit(self._render, missing)

    def _render(self, names: list[str]) -> None:
        import cv2

        from f2p_engine.headmodel.mesh import HeadModel
        from f2p_engine.render.renderer import Renderer
        from f2p_engine.render.slider_icons import ICON_SIZE, slider_icon

        try:
            renderer = Renderer(size=2 * ICON_SIZE)
            head = HeadModel(vertex_ids=renderer.vertex_ids)
            icon_folder().mkdir(parents=True, exist_ok=True)
            params = schema.continuous_by_name()
            for name in names:
                if self._closed:
                    break
                path = icon_path(name)
                staged = path.with_suffix(".tmp.png")
                cv2.imwrite(str(staged), cv2.cvtColor(slider_icon(params[name], renderer, head), cv2.COLOR_RGB2BGR))
                staged.replace(path)  # never a half-written icon
                self._built.emit(name)
            renderer.release()
        except Exception as exc:  # no GL stack, an unwritable cache: the sliders work without icons
            log.warning("slider icons not built: %s", exc)

    def _load(self, name: str) -> None:
        if not self._closed and (pixmap := self.cached(name)) is not None:
            self.ready.emit(name, pixmap)

    def close(self) -> None:
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
