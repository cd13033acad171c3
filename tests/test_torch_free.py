"""The run time needs no torch: every user command and the studio work in a process where importing
torch fails, and `f2p train` says in one line that it needs torch."""

import subprocess
import sys
from pathlib import Path

import pytest

from f2p_engine.files import resources_dir

ROOT = Path(__file__).resolve().parent.parent
PHOTO = resources_dir() / "samples" / "synthetic_face.png"
RECIPE = resources_dir() / "samples" / "synthetic_face.mhm"
#: Run before anything else in the child: a meta-path finder that refuses torch, as if not installed.
NO_TORCH = """
import importlib.abc, runpy, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None

sys.meta_path.insert(0, NoTorch())
module, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def run_without_torch(module: str, *args: object, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TORCH, module, *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def test_the_blocker_blocks():
    result = subprocess.run([sys.executable, "-c", NO_TORCH, "json.tool", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    code = NO_TORCH.replace("module, sys.argv = sys.argv[1], sys.argv[1:]\nrunpy.run_module(module, "
                            "run_name=\"__main__\", alter_sys=True)\n", "import torch\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert "blocked by the test" in result.stderr


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("torchless") / "data"
    result = run_without_torch("f2p_engine", "generate", "--count", 4, "--size", 64, "--shard-size", 2,
                               "--workers", 1, "--seed", 5, "-o", folder)
    assert result.returncode == 0, result.stderr
    return folder


def test_user_commands_run_without_torch(tiny_dataset, tmp_path):
    commands = {
        "mesh": ["mesh", RECIPE, "-o", tmp_path / "head.obj"],
        "render": ["render", RECIPE, "--size", 64, "-o", tmp_path / "head.png"],
        "align": ["align", PHOTO, "-o", tmp_path / "aligned"],
        "predict": ["predict", PHOTO, "-o", tmp_path / "face.mhm", "--json", tmp_path / "face.json"],
        "evaluate": ["evaluate", "--data", tiny_dataset, "--out", tmp_path / "report"],
        "contact-sheet": ["contact-sheet", tiny_dataset, "-o", tmp_path / "sheet.png", "--count", 2],
    }
    for name, args in commands.items():
        result = run_without_torch("f2p_engine", *args)
        assert result.returncode == 0, f"{name}: {result.stderr[-2000:]}"
    for output in ("head.obj", "head.png", "aligned/aligned.png", "face.mhm", "face.json", "report/metrics.json",
                   "sheet.png"):
        assert (tmp_path / output).is_file(), output


def test_train_without_torch_says_so_in_one_line(tiny_dataset, tmp_path):
    result = run_without_torch("f2p_engine", "train", "--data", tiny_dataset, "-o", tmp_path / "run")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "needs torch" in lines[0]
    assert not (tmp_path / "run").exists()


def test_the_studio_runs_without_torch(tmp_path):
    out = tmp_path / "shot.png"
    result = run_without_torch("app.main", PHOTO, "--screenshot", out, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.stat().st_size > 10_000
