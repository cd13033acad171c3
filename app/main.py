"""`f2p-studio [FILE] [--overlay] [--screenshot OUT.png]`: start the desktop app.

FILE is a photo or a recipe (.mhm / f2p .json). With --screenshot the window is rendered to
OUT.png once the head is drawn and the photo pipeline has finished, and the program exits
(0 on success, 2 with a one-line message on bad input), without touching the user's settings
or autosave.
"""

from __future__ import annotations

import os
import signal
import sys


def exit_interrupted(_signum: int = signal.SIGINT, _frame: object = None) -> None:
    """Ctrl-C before the event loop runs (nothing of the artist's is open yet): one line, exit 130, at
    once. A KeyboardInterrupt raised inside Qt's C++ (a Python override it calls) would abort instead."""
    os.write(2, b"f2p-studio: interrupted\n")
    os._exit(130)


if __name__ == "__main__":  # before the imports below, which take a while on a busy machine
    signal.signal(signal.SIGINT, exit_interrupted)

import argparse  # noqa: E402 (after the Ctrl-C handler, on purpose)
import logging  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from f2p_engine.errors import F2PError  # noqa: E402

# Qt is imported inside the functions, after `main` has set the Ctrl-C handler.
if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from app.window import StudioWindow

log = logging.getLogger(__name__)
#: Longest wait for the first frame and the pipeline before a screenshot is taken anyway.
SCREENSHOT_TIMEOUT_S = 20.0


def create_application(argv: Sequence[str] = ()) -> QApplication:
    """The QApplication (or the existing one)."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    existing = QApplication.instance()
    if existing is not None:
        return existing  # type: ignore[return-value]
    _skip_pyside_feature_scan()
    QCoreApplication.setOrganizationName("f2p")
    QCoreApplication.setApplicationName("f2p-studio")
    return QApplication(["f2p-studio", *argv])


def _skip_pyside_feature_scan() -> None:
    """Once imported, PySide6 reads the whole source of every module imported after it, to see whether it
    names PySide6 (for its opt-in `from __feature__ import snake_case, ...`): ~0.25 s of the studio's
    start-up went to reading the libraries it then imported (pyqtgraph, PyOpenGL) and our own files.
    Nothing in the studio opts in, so every module is taken as one that uses PySide without features
    (PySide's default behaviour for all of them); a `from __feature__ import` would still be honoured.
    PySide6 versions without this check are left alone."""
    feature = sys.modules.get("shibokensupport.feature")
    if feature is not None and callable(getattr(feature, "_mod_uses_pyside", None)):
        feature._mod_uses_pyside = lambda _module: True


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
    overlay = window.overlay_view
    overlay_failed: list[str] = []
    overlay.renderer.failed.connect(overlay_failed.append)

    def shown() -> bool:
        """The view on screen has drawn: the 3D head, or (in the fit check, which the 3D view hides)
        the overlay of the newest request, its placeholder when there is no face, or its error."""
        if window.capture.runner.busy:
            return False
        if window.head_stack.currentWidget() is not overlay:
            return bool(frames)
        analysis = window.state.analysis
        frame = overlay.canvas.frame
        return (analysis is None or analysis.aligned is None or bool(overlay_failed)
                or (frame is not None and frame.request_id == overlay.renderer.latest))

    window.show()
    ready = wait_until(app, shown, SCREENSHOT_TIMEOUT_S)
    if not ready:
        log.warning("screenshot taken before the window finished drawing")
    wait_until(app, lambda: False, 0.2)  # let queued repaints (strip, panel) land
    if problems:
        raise F2PError(problems[-1])
    save_png(window.screenshot(), out)


def configure_logging() -> None:
    """Our own notes at INFO; third-party libraries only when something is wrong (some announce
    themselves at INFO on every start)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for ours in ("app", "f2p_engine"):
        logging.getLogger(ours).setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Ctrl-C ends the studio at any time with exit code 130 and one line: while it starts at once,
    once it runs by closing the window (unsaved work goes to the autosave)."""
    signal.signal(signal.SIGINT, exit_interrupted)
    return _main(argv)


def _quit_on_interrupt(app: QApplication) -> None:
    """Ctrl-C while the event loop runs: close the windows (autosave) and leave with 130. Python runs
    signal handlers only between bytecodes, so a timer lets it look while Qt waits for events."""
    from PySide6.QtCore import QTimer

    def close_all() -> None:
        app.setProperty("f2p_interrupted", True)
        app.closeAllWindows()
        app.quit()

    def interrupted(_signum, _frame) -> None:
        # The handler can run inside a Python override Qt is calling (the 3D view's paintGL mid-draw);
        # closing the windows there pulls the GL context from under it (CI: a crash, exit -11).
        QTimer.singleShot(0, close_all)

    signal.signal(signal.SIGINT, interrupted)
    ticker = QTimer(app)
    ticker.timeout.connect(lambda: None)
    ticker.start(200)


def _dispose(window: StudioWindow) -> None:
    """Close `window` and delete it now, while the application and its X connection exist: a GL window
    left to the interpreter's exit is destroyed after them (CI: a paintGL without a context, exit -11)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    configure_logging()
    started = time.perf_counter()
    app = create_application()

    from PySide6.QtCore import QSettings, Qt

    from app.document import AutosaveSlot, autosave_folder, claim_autosave
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
                _dispose(window)
        return 0

    slot: AutosaveSlot | None = claim_autosave(autosave_folder())  # held (locked) while the window lives
    window = StudioWindow(autosave_path=slot.path if slot else None)
    sys.excepthook = lambda kind, exc, tb: window.report(exc)
    window.show()
    # The models load in the background once the window has drawn (the first photo should not wait for
    # them, nor the first frame share the CPU with them).
    window.head_view.canvas.frame_drawn.connect(lambda _ms: window.state.models.preload(),
                                                Qt.ConnectionType.SingleShotConnection)
    window.show_overlay(args.overlay)
    if slot is None:
        window.say("autosave is off: every autosave slot is held by another running studio")
    if args.file is not None:
        window.guarded(lambda: window.open_file(args.file))
    elif not window.document.restore_autosave():
        window.say(f"ready in {time.perf_counter() - started:.1f} s")
    _quit_on_interrupt(app)
    code = app.exec()
    window.state.models.wait()
    sys.excepthook = sys.__excepthook__  # it reported to the window
    _dispose(window)
    if slot is not None:
        slot.lock.unlock()
    if app.property("f2p_interrupted"):
        print("f2p-studio: interrupted", file=sys.stderr)  # noqa: T201 (command-line output)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
