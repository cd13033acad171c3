"""`f2p-studio [FILE] [--overlay] [--screenshot OUT.png]`: start the desktop app.

FILE is a photo or a recipe (.mhm / f2p .json). With --screenshot the window is rendered to
OUT.png once the head is drawn and the photo pipeline has finished, and the program exits
(0 on success, 2 with a one-line message on bad input), without touching the user's settings
or autosave.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtWidgets import QApplication

from f2p_engine.errors import F2PError

log = logging.getLogger(__name__)
#: Longest wait for the first frame and the pipeline before a screenshot is taken anyway.
SCREENSHOT_TIMEOUT_S = 20.0


def create_application(argv: Sequence[str] = ()) -> QApplication:
    """The QApplication, created with the attributes pyqtgraph's GL views need (or the existing one)."""
    existing = QApplication.instance()
    if existing is not None:
        return existing  # type: ignore[return-value]
    # Must precede the QApplication: every GLViewWidget shares one context family.
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    QCoreApplication.setOrganizationName("f2p")
    QCoreApplication.setApplicationName("f2p-studio")
    return QApplication(["f2p-studio", *argv])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="f2p-studio", description="Photo of a face to a MakeHuman character.")
    parser.add_argument("file", nargs="?", type=Path, help="a photo, or a recipe (.mhm or f2p .json), to open")
    parser.add_argument("--overlay", action="store_true",
                        help="start in the fit check: the head over the photo, at the photo's pose")
    parser.add_argument("--screenshot", type=Path, metavar="OUT.png",
                        help="render the window to OUT.png once everything is shown, then exit")
    return parser


def wait_until(app: QApplication, done: Callable[[], bool], timeout_s: float) -> bool:
    """Process events until `done()` or the timeout; True if `done()` became true."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.005)
    return True


def take_screenshot(app: QApplication, window, out: Path, problems: Sequence[str] = ()) -> None:
    """Show `window`, wait for its first GL frame and the photo pipeline, and save it as PNG.

    `problems` fills as the pipeline reports (no face, ...); any raises F2PError and nothing is saved,
    as `f2p predict` writes nothing for such a photo."""
    from app.document import save_png

    frames: list[float] = []
    window.head_view.canvas.frame_drawn.connect(frames.append)
    window.show()
    ready = wait_until(app, lambda: bool(frames) and not window.capture.runner.busy, SCREENSHOT_TIMEOUT_S)
    if not ready:
        log.warning("screenshot taken before the window finished drawing")
    wait_until(app, lambda: False, 0.2)  # let queued repaints (strip, panel) land
    if problems:
        raise F2PError(problems[-1])
    save_png(window.screenshot(), out)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    app = create_application()

    from app.document import default_autosave_path
    from app.settings import StudioSettings
    from app.window import StudioWindow

    if args.screenshot is not None:
        with tempfile.TemporaryDirectory() as scratch:
            settings = StudioSettings(QSettings(str(Path(scratch) / "settings.ini"), QSettings.Format.IniFormat))
            window = StudioWindow(settings=settings, autosave_path=None)
            window.show_overlay(args.overlay)
            problems: list[str] = []  # connected before the pipeline starts, so no report is missed
            runner = window.capture.runner
            runner.finished.connect(lambda _id, result: result.problem and problems.append(result.problem))
            runner.failed.connect(lambda _id, exc: problems.append(str(exc)))
            try:
                if args.file is not None:
                    window.open_file(args.file)
                take_screenshot(app, window, args.screenshot, problems)
            except F2PError as exc:
                print(f"f2p-studio: {exc}", file=sys.stderr)  # noqa: T201 (command-line output)
                return 2
            except OSError as exc:  # an unwritable OUT.png: the user's to fix, no traceback
                print(f"f2p-studio: {exc.filename}: {exc.strerror}", file=sys.stderr)  # noqa: T201
                return 2
            finally:
                window.close()
        return 0

    window = StudioWindow(autosave_path=default_autosave_path())
    sys.excepthook = lambda kind, exc, tb: window.report(exc)
    window.show()
    # The models load in the background once the window has drawn (the first photo should not wait for
    # them, nor the first frame share the CPU with them).
    window.head_view.canvas.frame_drawn.connect(lambda _ms: window.state.models.preload(),
                                                Qt.ConnectionType.SingleShotConnection)
    window.show_overlay(args.overlay)
    if args.file is not None:
        window.guarded(lambda: window.open_file(args.file))
    elif not window.document.restore_autosave():
        window.say(f"ready in {time.perf_counter() - started:.1f} s")
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
