"""Ray (optional extra `cluster`): shard rendering spread over a Ray cluster, and the session helper
`ray_session` that batch prediction (`infer.cluster`) uses too.

Each Ray task renders whole shards with `dataset.make_shard_in_worker` (one factory per Ray worker
process, kept across its tasks) and writes them to the dataset folder exactly as the local pool
does, so that folder must be shared storage every node sees at the same path. A sample depends
only on (seed, index), so the bytes equal the local run's; the dataset writer's resume applies
unchanged. Ray is imported inside the functions: without it installed, nothing here is loaded
until `--ray` is asked for, which then fails with one line.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import f2p_engine
from f2p_engine.errors import InputError
from f2p_engine.synth.dataset import (
    WORKER_ENVIRONMENT,
    GenerateSettings,
    ShardJob,
    ShardRunner,
    make_shard_in_worker,
)

log = logging.getLogger(__name__)

MISSING_RAY = "Ray is not installed: pip install -e .[cluster]"


def import_ray() -> Any:
    """The `ray` module; InputError with the install command when it is not installed."""
    try:
        import ray
    except ImportError:
        raise InputError(MISSING_RAY) from None
    return ray


#: What an HTTP/2 client sends first: the connection preface and an empty SETTINGS frame.
_HTTP2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
#: The frame type of SETTINGS, which an HTTP/2 server must send first.
_SETTINGS = 0x04


def check_cluster(address: str | None, timeout: float = 5.0) -> None:
    """InputError unless Ray is installed and `address` ("host:port" or "ray://host:port") answers
    like a Ray cluster within `timeout` s: its GCS and its client server speak gRPC, so a short
    HTTP/2 handshake (our preface, their SETTINGS frame) tells them from a dashboard, a web server
    or a port that accepts and says nothing, on which `ray.init` would hang for minutes. None (a
    local Ray) and "auto" need only Ray."""
    import_ray()
    if address is None or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"{address}: not a Ray address (host:port)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as connection:
            connection.sendall(_HTTP2_HELLO)
            first = _receive(connection, 9)
    except TimeoutError:
        raise InputError(f"{address}: no answer within {timeout:g} s; not a Ray cluster") from None
    except OSError as exc:
        raise InputError(f"{address}: cannot reach a Ray cluster ({exc.strerror or exc})") from None
    if len(first) < 9 or first[3] != _SETTINGS:
        raise InputError(f"{address}: answers, but not as a Ray cluster (give the head node's GCS port, "
                         "6379 by default, not the dashboard's)")


def _receive(connection: socket.socket, size: int) -> bytes:
    """Up to `size` bytes: fewer only when the other end closes first."""
    data = b""
    while len(data) < size:
        block = connection.recv(size - len(data))
        if not block:
            break
        data += block
    return data


@contextlib.contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Connect to the Ray cluster at `address` ("host:port", "auto"), or start a local Ray when None;
    yield the `ray` module; disconnect (and stop a local Ray) at the end. Workers run single-threaded
    (like the local pool) with this checkout's engine first on their path. InputError when the
    cluster cannot be reached."""
    ray = import_ray()
    # The engine the driver runs, so workers on this machine import the same code as the driver.
    package_root = str(Path(f2p_engine.__file__).resolve().parent.parent)
    runtime_env = {"env_vars": {**WORKER_ENVIRONMENT, "PYTHONPATH": package_root}}
    try:
        ray.init(address=address, runtime_env=runtime_env, logging_level=logging.WARNING, log_to_driver=False,
                 include_dashboard=False)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"{address}: cannot reach a Ray cluster ({first_line})") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def ray_runner(address: str | None) -> ShardRunner:
    """A `dataset.generate` runner that renders every missing shard as one Ray task (one CPU each).
    InputError at once when Ray is missing or `address` cannot be reached."""
    check_cluster(address)

    def run(todo: Sequence[ShardJob], settings: GenerateSettings) -> Iterator[int]:
        with ray_session(address) as ray:
            task = ray.remote(num_cpus=1, max_retries=2)(make_shard_in_worker)
            pending = [task.remote(job, settings) for job in todo]
            log.info("%d shards sent to Ray (%s CPUs)", len(pending), ray.cluster_resources().get("CPU"))
            while pending:
                finished, pending = ray.wait(pending, num_returns=1)
                yield ray.get(finished[0])

    return run
