"""Issue 12, Ctrl-C: one line "interrupted", exit 130, workers stopped quietly, nothing partial.

Real processes and real SIGINTs sent to the whole process group, as a terminal does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: What a Ctrl-C prints when it lands in `_start`'s one-line launcher, before `run()` is entered.
HARNESS_INTERRUPTED = ["Traceback (most recent call last):", '  File "<string>", line 1, in <module>',
                       "KeyboardInterrupt"]


def _start(argv: list[str], *, ready_line: bool = False) -> subprocess.Popen:
    """`python3 -m f2p_engine ARGV` in its own process group. With `ready_line`, the process runs
    what the `f2p` console script runs (import `f2p_engine.__main__.run`, call it) and prints "ready"
    just before the call: the moment our own start-up begins (the interpreter's is out of reach)."""
    if ready_line:
        code = (f"import os, sys; from f2p_engine.__main__ import run; sys.argv = ['f2p', *{argv!r}]; "
                "os.write(1, b'ready\\n'); sys.exit(run())")
        command = [sys.executable, "-c", code]
    else:
        command = [sys.executable, "-m", "f2p_engine", *argv]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _interrupt(process: subprocess.Popen) -> tuple[int, list[str]]:
    """Ctrl-C to the process group; exit code and stderr lines (progress-bar redraws left out)."""
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip() and "%|" not in line]
    return process.returncode, lines


def _workers(pid: int) -> list[int]:
    """Pool workers among the children of `pid` (not multiprocessing's resource tracker)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:  # the process ended while we looked
        return []
    found = []
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:  # the thread ended while we looked
            continue
        for child in children:
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
    return found


@pytest.mark.parametrize("moment", ["workers starting", "workers rendering"])
def test_ctrl_c_during_generate_stops_the_workers_quietly(moment, tmp_path):
    out = tmp_path / "data"
    process = _start(["generate", "--count", "400", "--shard-size", "10", "--workers", "2", "-o", str(out)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if moment == "workers starting" and len(_workers(process.pid)) >= 2:
            break
        if moment == "workers rendering" and out.exists() and any(p.name.startswith("shard-") for p in out.iterdir()):
            break
        time.sleep(0.02)
    workers = _workers(process.pid)
    code, lines = _interrupt(process)
    assert (code, lines) == (130, ["f2p generate: interrupted"])
    assert not (out / "manifest.json").exists()
    assert [p.name for p in out.iterdir() if p.name.endswith(".part")] == []
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.1, 0.3])
def test_ctrl_c_early_in_start_up_is_one_line(delay, tmp_path):
    photo = ROOT / "resources" / "samples" / "synthetic_face.png"
    process = _start(["predict", str(photo), "-o", str(tmp_path / "face.mhm")], ready_line=True)
    assert process.stdout.readline() == "ready\n"
    time.sleep(delay)
    code, lines = _interrupt(process)
    if code == 0:  # the whole prediction finished first: nothing to test at this delay
        pytest.skip("finished before the interrupt")
    if lines == HARNESS_INTERRUPTED:  # between "ready" and run()'s first line: the harness's code, not f2p's
        pytest.skip("the Ctrl-C landed in the test's own launcher, before run() began")
    assert code == 130, lines
    assert lines in (["f2p: interrupted"], ["f2p predict: interrupted"])
    assert list(tmp_path.iterdir()) == []
