"""The `f2p` command line. Each stage's commands live in a module here with a `register` function.

Contract (DESIGN.md): `--help` everywhere, exit 0 on success, exit 2 with one line naming the
file and the problem on bad usage or bad input (no traceback), no partial output files.
`F2PError`s and `OSError`s (an output path that cannot be written) both end that way; Ctrl-C
ends with one line and exit 130, SIGTERM alike with exit 143 (worker processes stopped first).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from f2p_engine import __version__
from f2p_engine.errors import F2PError

if TYPE_CHECKING:
    from f2p_engine.recipe import Recipe

#: Set by the first Ctrl-C (or SIGTERM) during `main`.
_INTERRUPTED = threading.Event()
#: Set by a SIGTERM during `main`.
_TERMINATED = threading.Event()
#: Loggers of libraries that log on their own (Ray's start-up, PyOpenGL's accelerate notice):
#: warnings only, so a command's output stays the lines it promises.
QUIET_LOGGERS = ("ray", "OpenGL", "onnxruntime", "matplotlib", "PIL", "numba", "urllib3", "filelock")
#: Command modules, in data-flow order; each defines `register(subparsers)`.
COMMAND_MODULES = ("head", "synth", "photo", "models")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="f2p", description="Photo of a face -> MakeHuman character.")
    parser.add_argument("--version", action="version", version=f"f2p {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"f2p_engine.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _INTERRUPTED.clear()
    _TERMINATED.clear()
    previous = _stop_on_first_interrupt()
    command = None
    try:
        _write_any_file_name()
        parser = build_parser()
        args = parser.parse_args(argv)
        command = args.command
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING if args.verbose else logging.ERROR)
        return int(args.run(args) or 0)
    except BaseException as exc:
        code = _reported(exc, f"f2p {command}" if command else "f2p")
        if code is None:
            raise
        return code
    finally:
        for number, handler in (previous or {}).items():
            signal.signal(number, handler)


def _reported(exc: BaseException, prefix: str) -> int | None:
    """Print the one line for an error the user can act on and return the exit code; None for bugs."""
    if _TERMINATED.is_set():
        print(f"{prefix}: terminated", file=sys.stderr)
        return 143
    if _INTERRUPTED.is_set() or isinstance(exc, KeyboardInterrupt):
        # Anywhere, argument parsing and imports included, whatever the KeyboardInterrupt became on
        # its way up (numpy turns one during its import into an ImportError).
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    if isinstance(exc, F2PError):
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, OSError):  # an output path that cannot be written: the user's to fix
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{prefix}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    return None


def _stop_on_first_interrupt() -> dict[int, Any] | None:
    """Make the first Ctrl-C or SIGTERM raise KeyboardInterrupt and ignore later ones, so the clean-up
    it starts (temporary files removed, worker processes stopped) runs to its end. Returns the previous
    handlers (None off the main thread, where Python cannot install one)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupted(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if signum == signal.SIGTERM:
            _TERMINATED.set()
        _INTERRUPTED.set()
        raise KeyboardInterrupt

    return {number: signal.signal(number, interrupted) for number in (signal.SIGINT, signal.SIGTERM)}


def _write_any_file_name() -> None:
    """Let stdout print file names that are not UTF-8 as the bytes they are (stderr already escapes
    them), rather than fail with UnicodeEncodeError after the work is done."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="surrogateescape")


def read_recipe_reporting(command: str, path: Path) -> Recipe:
    """Read an .mhm or JSON recipe; one warning line per problem found and per part not applied."""
    from f2p_engine.recipe import read_recipe, summarised

    result = read_recipe(path)
    for message in result.warnings:
        warn(command, message)
    for message in summarised([f"{path}: {note}" for note in result.recipe.unapplied()], str(path)):
        warn(command, message)
    return result.recipe


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def image_side(maximum: int) -> Callable[[str], int]:
    """argparse type: an image side in pixels, from 32 to `maximum`."""

    def parse(text: str) -> int:
        value = _integer(text)
        if not 32 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between 32 and {maximum} pixels, got {value}")
        return value

    return parse


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def wrote(command: str, *paths: Path) -> None:
    """The line saying what a command wrote (stdout: the command's result)."""
    print(f"f2p {command}: wrote {', '.join(map(str, paths))}")


def warn(command: str, message: str) -> None:
    """One warning line on stderr (CLI output, not logging: the user asked for this command)."""
    print(f"f2p {command}: warning: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
