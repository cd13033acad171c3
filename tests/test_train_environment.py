"""Issue 21, DDP misuse: torchrun's variables are checked before any work (one line naming the
variable), and a rendezvous nobody else joins ends after `--rendezvous` seconds, or at Ctrl-C, in one
line, never after hours. Real `f2p train` processes for the rendezvous."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

from f2p_engine.cli import main
from f2p_engine.synth.dataset import GenerateSettings, generate

ROOT = Path(__file__).resolve().parent.parent
TINY = {"regions": ["nose"], "aggregate": {"finetune_epochs": 1, "batch_size": 2},
        "local": {"finetune_epochs": 1, "batch_size": 2}}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp-env")
    generate(root / "data", 2, GenerateSettings(seed=3, size=64, shard_size=2), workers=1)
    (root / "tiny.json").write_text(json.dumps(TINY))
    return root


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _train(root: Path, environment: dict[str, str], *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT")}
    command = [sys.executable, "-m", "f2p_engine", "train", "--data", str(root / "data"), "-o", str(root / "run"),
               "--config", str(root / "tiny.json"), "--threads", "1", *extra]
    return subprocess.Popen(command, cwd=ROOT, env={**env, **environment}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.parametrize(("environment", "line"), [
    ({"WORLD_SIZE": "abc"}, "f2p train: error: WORLD_SIZE='abc': not a process count"),
    ({"WORLD_SIZE": "2"}, "f2p train: error: WORLD_SIZE=2 (more than one training process, as torchrun starts "
                          "them) needs RANK, MASTER_ADDR, MASTER_PORT too; start the processes with torchrun"),
    ({"WORLD_SIZE": "2", "RANK": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"},
     "f2p train: error: RANK=2: must be from 0 to 1 with WORLD_SIZE=2"),
    ({"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "x"},
     "f2p train: error: MASTER_PORT='x': not a port"),
])
def test_bad_torchrun_variables_are_one_line(environment, line, data, monkeypatch, capsys):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    argv = ["train", "--data", str(data / "data"), "-o", str(data / "run"), "--config", str(data / "tiny.json")]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [line]
    assert not (data / "run").exists()


def test_a_lone_rank_gives_up_after_the_rendezvous_time(data):
    port = _free_port()
    process = _train(data, {"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)},
                     "--rendezvous", "2")
    began = time.monotonic()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.strip().splitlines() == [f"f2p train: error: rank 0 of 2: the other training processes did not join "
                                        f"at 127.0.0.1:{port} within 2 s"]
    assert time.monotonic() - began < 30


def test_ctrl_c_during_the_rendezvous_is_one_line(data):
    port = _free_port()
    process = _train(data, {"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    deadline = time.monotonic() + 60
    while not _listening(port):  # rank 0 now waits for rank 1 at its store
        assert process.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=10)
    assert process.returncode == 130
    assert err.strip().splitlines() == ["f2p train: interrupted"]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True
