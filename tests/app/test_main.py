"""`f2p-studio --screenshot`: the command docs and checks rely on."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PySide6.QtGui import QImage

from app.images import qimage_to_rgb


def run_studio(*args):
    return subprocess.run([sys.executable, "-m", "app.main", *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def test_screenshot_of_a_recipe(tmp_path):
    recipe = tmp_path / "face.mhm"
    recipe.write_text("version v1.1.1\nmodifier head/head-fat-decr|incr 0.800000\n")
    out = tmp_path / "shot.png"
    result = run_studio(recipe, "--screenshot", out)
    assert result.returncode == 0, result.stderr
    pixels = qimage_to_rgb(QImage(str(out)))
    assert pixels.shape[1] >= 1000
    # The head: skin-coloured pixels (red well above blue) somewhere in the middle of the window.
    middle = pixels[:, pixels.shape[1] // 3: 2 * pixels.shape[1] // 3].reshape(-1, 3).astype(int)
    assert np.count_nonzero(middle[:, 0] - middle[:, 2] > 40) > 5000


def test_bad_input_exits_2_with_one_line(tmp_path):
    out = tmp_path / "shot.png"
    result = run_studio(tmp_path / "missing.jpg", "--screenshot", out)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"f2p-studio: {tmp_path / 'missing.jpg'}: no such file"
    assert not out.exists()
