"""Where the studio's controllers report to: the narrow "messages sink" they get instead of the window.

`Messages` is what a controller may say to the artist; the window implements it (status bar, dialogs,
the log). `guarded` runs an action and reports what escapes it, so no action can kill the app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Messages(Protocol):
    def say(self, message: str) -> None:
        """A passing note in the status bar."""

    def warn(self, message: str) -> None:
        """A problem the artist must see (status bar and a non-blocking dialog)."""

    def report(self, exc: BaseException) -> None:
        """An exception caught at an action's edge: one line for an `F2PError`, logged otherwise."""

    def log_warning(self, message: str) -> None:
        """A detail for the log only (e.g. each line skipped in a recipe file)."""


def guarded(messages: Messages, slot: Callable[[], object]) -> None:
    """Run an action; report what goes wrong instead of letting it escape."""
    try:
        slot()
    except Exception as exc:  # the app must never die of an action
        messages.report(exc)
