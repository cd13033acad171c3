"""Scoped single-threaded BLAS for small matrix products (mesh evaluation, per-frame geometry).

OpenBLAS splits even a (96,) x (96, 57474) product over every core; on a busy machine its threads
wait for cores and one mesh evaluation goes from ~2.5 ms to 16 ms (benchmarks/bench_head.py --load).
Limiting threads at import would slow big products elsewhere (training, least squares), so the limit
is set only around the calls that need it and restored after.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

_lock = threading.Lock()
_depth = 0
_limiter: Any = None


@functools.cache
def _controller() -> Any:
    # Built once: discovering the loaded BLAS libraries costs ~0.3 ms, setting their limit ~10 µs.
    # numpy's OpenBLAS is loaded by then (this module's callers import numpy first).
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def _set_limit_from_this_thread() -> None:
    # threadpoolctl lets only the first thread that limits OpenBLAS change it afterwards (calls
    # from other threads are silently ignored), but the studio evaluates meshes off the GUI thread.
    # Changes made here are serialised by `_lock`, so this thread may claim control before each one.
    from threadpoolctl import OpenBLASController

    OpenBLASController.clear_controlling_thread(force=True)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with one BLAS thread, then restore the previous limit; usable as a decorator.

    OpenBLAS's limit is process-wide, so overlapping blocks (several threads, nesting) share one
    limit: the first to enter sets it and the last to leave restores it.
    """
    global _depth, _limiter
    with _lock:
        if _depth == 0:
            _set_limit_from_this_thread()
            _limiter = _controller().limit(limits=1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _set_limit_from_this_thread()
                _limiter.restore_original_limits()
                _limiter = None
