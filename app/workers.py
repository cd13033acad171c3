"""Work off the GUI thread (superqt workers), delivering only the newest request's result.

Each submission gets a growing request id; a result or error whose id is not the latest is
dropped, so a slow old job can never overwrite what a newer one produced. Results and errors
arrive as Qt signals on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class HasId(Protocol):
    @property
    def id(self) -> int: ...


class LatestOnly(QObject):
    """Runs `fn(request)` in a thread per submission; emits only the latest request's outcome.

    Requests are immutable values carrying an `id` taken from `next_id()`.
    """

    #: (request id, result) of the latest submission.
    finished = Signal(int, object)
    #: (request id, exception) of the latest submission.
    failed = Signal(int, object)

    def __init__(self, fn: Callable[..., Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.latest = 0
        self._workers: set[Any] = set()

    def next_id(self) -> int:
        """A fresh request id; from now on only a request with this id gets delivered."""
        self.latest += 1
        return self.latest

    def submit(self, request: HasId) -> None:
        from superqt.utils import create_worker  # here: superqt and qtpy take ~0.2 s to import, not at start-up

        request_id = request.id
        worker = create_worker(self._fn, request, _start_thread=False)
        worker.returned.connect(lambda result: self._deliver(request_id, result))
        worker.errored.connect(lambda exc: self._fail(request_id, exc))
        worker.finished.connect(lambda: self._workers.discard(worker))
        self._workers.add(worker)
        worker.start()

    @property
    def busy(self) -> bool:
        return bool(self._workers)

    def _deliver(self, request_id: int, result: object) -> None:
        if request_id == self.latest:
            self.finished.emit(request_id, result)
        else:
            log.debug("dropped stale result of request %d (latest %d)", request_id, self.latest)

    def _fail(self, request_id: int, exc: BaseException) -> None:
        if request_id == self.latest:
            self.failed.emit(request_id, exc)
