"""Issue 12, studio: `f2p-studio --screenshot` ends bad cases like the CLI (one line, exit 2, no file)."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
from mounts import leftovers, read_only_folder

from f2p_engine.files import resources_dir


def _studio(*args):
    return subprocess.run([sys.executable, "-m", "app.main", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_screenshot_into_a_read_only_folder_is_one_line(tmp_path):
    recipe = resources_dir() / "samples" / "synthetic_face.mhm"
    with read_only_folder(tmp_path / "ro") as locked:
        result = _studio(recipe, "--screenshot", locked / "shot.png")
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(f"f2p-studio: {locked / 'shot.png'}: ")
        assert leftovers(locked) == []


def test_a_photo_without_a_face_exits_2_like_the_cli(tmp_path):
    photo = tmp_path / "wall.png"
    cv2.imwrite(str(photo), np.full((320, 480, 3), 128, np.uint8))
    out = tmp_path / "shot.png"
    result = _studio(photo, "--screenshot", out)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"f2p-studio: {photo}: no face found in the 480x320 image"
    assert not out.exists()
