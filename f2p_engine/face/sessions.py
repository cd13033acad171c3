"""onnxruntime sessions of verified model files, with a per-user cache of their optimised graphs.

ONNX file -> `InferenceSession`. onnxruntime spends most of a session's creation optimising the graph
(fusing, constant folding, the memory layout for its CPU). So the first session of a model also saves
the optimised graph (`optimized_model_filepath`), and later processes load that with optimisation off:
the same graph, the same outputs (bit for bit on every shipped model), in about a third of the time
(README, Performance).

The cache never replaces the check of the shipped file: its sha256 is checked first (`verified_session`,
or the model manifest for the ensemble's members) and is the cache key. The cached graph is written
atomically with its own sha256 beside it and checked on every load; a cached graph that fails its check
(two processes writing the same entry may pair one's graph with the other's sha256), does not load or
cannot be written means optimising again, never an error. The layout depends on the CPU and on
onnxruntime's version, so both are in the key. Files are hashed in blocks (`files.checked_sha256`: again
only when they changed since), then read by onnxruntime: a model's bytes are never held twice in memory
(on this machine fresh memory costs about 1 ms per MB). The graphs live in `files.cache_dir()`/onnx.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from f2p_engine.errors import AssetError
from f2p_engine.files import cache_dir, checked_sha256, sha256_file

log = logging.getLogger(__name__)

#: Cached graphs kept at most (the shipped models are 15; retrained model sets add theirs): the oldest
#: written go first.
MAX_GRAPHS = 64


@functools.cache
def quiet_onnxruntime() -> Any:
    """The `onnxruntime` module, its own log lowered to errors: its warnings (a telemetry ID it cannot
    store when HOME is read-only or missing) are not lines a command promised."""
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)
    return onnxruntime


@functools.cache
def _machine() -> str:
    """What the optimised graph depends on besides the model: onnxruntime's version and the CPU (its
    architecture and instruction set extensions, which set the memory layout onnxruntime chooses)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            features = next((line for line in cpuinfo if line.startswith(("flags", "Features"))), "")
    except OSError:  # not Linux: what the platform says (which may start a process to find out)
        features = platform.processor()
    tag = hashlib.sha256(f"{platform.machine()} {features}".encode()).hexdigest()[:12]
    return f"ort{quiet_onnxruntime().__version__}-{tag}"


def verified_session(path: Path, sha256: str, *, kind: str, manifest: str | Path, remedy: str) -> Any:
    """`onnx_session` of the model file `path` on one thread (small models on a busy machine: more
    threads cost time, see DESIGN.md), after checking its sha256 against `manifest`'s `sha256`:
    AssetError "`path`: `kind` file missing" or "... sha256 does not match `manifest`", then `remedy`."""
    try:
        actual = checked_sha256(path)
    except OSError:
        raise AssetError(f"{path}: {kind} file missing; {remedy}") from None
    if actual != sha256:
        raise AssetError(f"{path}: sha256 does not match {manifest}; {remedy}")
    return onnx_session(path, sha256, threads=1)


def onnx_session(model: Path, sha256: str, threads: int = 1) -> Any:
    """An onnxruntime CPU session of the ONNX file `model`, whose sha256 the caller has checked to be
    `sha256`; `threads` inside each operator. Loads the cached optimised graph when there is a sound one,
    else optimises `model` and caches the result. onnxruntime's exception when `model` does not load."""
    onnxruntime = quiet_onnxruntime()
    folder = cache_dir()
    cached = None if folder is None else folder / "onnx" / f"{sha256}-{_machine()}.onnx"
    if cached is not None and _sound(cached):
        try:
            return onnxruntime.InferenceSession(str(cached), _options(threads, optimise=False),
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's errors share no base class but Exception
            log.debug("%s: cached graph does not load (%s); optimising again", cached, exc)
    staged = _staging(cached)
    if staged is not None:
        options = _options(threads, optimise=True)
        options.optimized_model_filepath = str(staged)
        try:
            session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's errors share no base class but Exception
            # Writing the graph may be what failed (a full disk): the model's own error comes below.
            log.debug("%s: not cached (%s)", cached, exc)
        else:
            _keep(staged, cached)
            return session
        finally:
            staged.unlink(missing_ok=True)  # gone already once kept (renamed into the cache)
    return onnxruntime.InferenceSession(str(model), _options(threads, optimise=True),
                                        providers=["CPUExecutionProvider"])


def _options(threads: int, *, optimise: bool) -> Any:
    onnxruntime = quiet_onnxruntime()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if not optimise:  # a cached graph is optimised already
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    return options


def _digest_path(cached: Path) -> Path:
    return cached.with_suffix(".sha256")


def _sound(cached: Path) -> bool:
    """True if the cached graph matches the sha256 written beside it."""
    try:
        return checked_sha256(cached) == _digest_path(cached).read_text().strip()
    except OSError:
        return False


def _staging(cached: Path | None) -> Path | None:
    """A new temporary file beside `cached` for onnxruntime to write the optimised graph to, or None
    when there is no cache or its folder cannot be written."""
    if cached is None:
        return None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{cached.stem}.", suffix=".part", dir=cached.parent)
        os.close(handle)
    except OSError as exc:
        log.debug("%s: cannot cache optimised graphs (%s)", cached.parent, exc)
        return None
    return Path(name)


def _keep(staged: Path, cached: Path) -> None:
    """Move the graph onnxruntime wrote to `staged` into the cache as `cached`, its sha256 first (a
    graph without its digest is never read)."""
    try:
        digest = sha256_file(staged)
        with tempfile.NamedTemporaryFile("w", dir=cached.parent, prefix=f".{cached.stem}.", suffix=".part",
                                         delete=False) as handle:
            handle.write(digest + "\n")
        os.replace(handle.name, _digest_path(cached))
        os.replace(staged, cached)
        graphs = sorted(cached.parent.glob("*.onnx"), key=lambda p: p.stat().st_mtime_ns)
        for old in graphs[:max(0, len(graphs) - MAX_GRAPHS)]:
            old.unlink(missing_ok=True)
            _digest_path(old).unlink(missing_ok=True)
    except OSError as exc:
        log.debug("%s: not cached (%s)", cached, exc)
        staged.unlink(missing_ok=True)
