"""`f2p-studio --screenshot`: the command docs and checks rely on."""

from __future__ import annotations

import os
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


STARTS_AND_LOADS = """
import os, sys
from PySide6.QtWidgets import QApplication
from app import main as studio
from app.state import Models

loaded_before_models = []
preload = Models.preload


def note_then_preload(models):
    loaded_before_models.append(sorted(m for m in ("cv2", "onnxruntime", "torch", "superqt", "qtpy")
                                       if m in sys.modules))
    preload(models)


def until_the_models_load(app):
    studio.wait_until(app, lambda: bool(loaded_before_models), 30)
    window = next(w for w in app.topLevelWidgets() if type(w).__name__ == "StudioWindow")
    print(window.head_view.canvas.isValid(), loaded_before_models[0], flush=True)
    os._exit(0)


Models.preload = note_then_preload
QApplication.exec = until_the_models_load
studio.main([])
"""


def test_the_window_shows_before_opencv_onnxruntime_or_superqt_load(tmp_path):
    """Start-up to a usable window: the models start loading once the 3D view has drawn, and by then
    neither OpenCV, onnxruntime, torch nor superqt (with qtpy) has been imported; they come with the
    first photo, overlay or export."""
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", STARTS_AND_LOADS], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(maxsplit=1) == ["True", "[]\n"]
