"""App test fixtures: a shared head model and a window factory that owns teardown.

pytest-xvfb runs these under Xvfb: the GL head view needs a real GL context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings

from app.settings import StudioSettings
from app.state import StudioState
from app.window import StudioWindow
from f2p_engine.headmodel.mesh import HeadModel


@pytest.fixture(autouse=True)
def _no_background_icons(monkeypatch):
    """Windows in tests do not render the slider icons behind the test's back (seconds of CPU that would
    slow timing-sensitive tests, and files in the user's cache); test_slider_icon_cache.py asks for them."""
    import app.slider_icons

    monkeypatch.setattr(app.slider_icons, "START_AFTER_MS", 10**9)


@pytest.fixture(scope="session")
def head_model() -> HeadModel:
    return HeadModel()


@pytest.fixture
def astronaut_file(tmp_path: Path) -> Path:
    """skimage's astronaut (a real, public-domain face photo) as a PNG file to open."""
    from skimage import data

    from app.document import save_png
    from app.images import rgb_to_qimage

    path = tmp_path / "astronaut.png"
    save_png(rgb_to_qimage(data.astronaut()), path)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> StudioSettings:
    return StudioSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def make_window(qtbot, head_model, settings, tmp_path) -> Iterator[Callable[..., StudioWindow]]:
    """Factory: `make_window(show=True)` -> a StudioWindow with its own settings and autosave file;
    `load_predictor` replaces the shipped models (a deterministic double)."""
    windows: list[StudioWindow] = []

    def factory(*, show: bool = True, autosave_path: Path | None = tmp_path / "autosave.f2psession",
                load_predictor=None) -> StudioWindow:
        # Not qtbot.addWidget: pytest-qt would delete the window before this fixture's teardown has
        # waited for its pipeline workers.
        window = StudioWindow(StudioState(head_model, load_predictor=load_predictor), settings=settings,
                              autosave_path=autosave_path)
        windows.append(window)
        if show:
            window.show()
            qtbot.waitExposed(window)
            qtbot.waitUntil(window.head_view.canvas.isValid)  # the GL child window's first frame
        return window

    yield factory
    for window in windows:
        qtbot.waitUntil(lambda w=window: not w.capture.runner.busy, timeout=10000)
        window.close()
        window.deleteLater()
    # Delete them now, while the X server is still there: GL windows destroyed at interpreter exit crash.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
