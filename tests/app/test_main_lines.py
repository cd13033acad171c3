"""`f2p-studio` says one line where one is promised: no third-party log lines, no screenshot that waits
for its timeout, and Ctrl-C ends it with one line and exit 130, starting or running."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from f2p_engine.files import resources_dir

SAMPLE = resources_dir() / "samples" / "synthetic_face"


def _env(tmp_path) -> dict[str, str]:
    """The user's settings and autosave folders inside the test's own directory."""
    return {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config")}


def test_a_screenshot_prints_nothing_to_stderr(tmp_path):
    result = subprocess.run([sys.executable, "-m", "app.main", f"{SAMPLE}.mhm", "--screenshot", tmp_path / "s.png"],
                            capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # PyOpenGL's "No OpenGL_accelerate module loaded" INFO line was on every run


def test_the_fit_check_screenshot_does_not_wait_for_its_timeout(tmp_path):
    result = subprocess.run([sys.executable, "-m", "app.main", f"{SAMPLE}.png", "--overlay", "--screenshot",
                             tmp_path / "s.png"], capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "before the window finished drawing" not in result.stderr  # it waited for the 3D view it hides
    assert (tmp_path / "s.png").stat().st_size > 10_000


def _interrupted(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    return process.returncode, stderr


def test_ctrl_c_while_the_studio_starts_is_one_line(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "app.main"], stderr=subprocess.PIPE, text=True,
                               env=_env(tmp_path))
    time.sleep(0.5)  # importing Qt and the engine
    code, stderr = _interrupted(process)
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == ["f2p-studio: interrupted"]


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool finds the studio's window")
def test_ctrl_c_ends_a_running_studio(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "app.main"], stderr=subprocess.PIPE, text=True,
                               env=_env(tmp_path))
    try:
        subprocess.run(["xdotool", "search", "--sync", "--name", "f2p-studio"], check=True, timeout=60,
                       capture_output=True)
        time.sleep(0.5)  # in the event loop
        code, stderr = _interrupted(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == ["f2p-studio: interrupted"]


def test_ctrl_c_closes_the_windows_from_the_event_loop_not_inside_a_draw(make_window, qapp, qtbot):
    """Python runs the Ctrl-C handler between any two bytecodes, also inside the 3D view's paintGL;
    closing the window right there destroyed the GL context mid-draw (a crash in CI, exit -11)."""
    from app.main import _quit_on_interrupt

    window = make_window()
    previous = signal.getsignal(signal.SIGINT)
    try:
        _quit_on_interrupt(qapp)
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # as if it fired mid-draw
        assert window.isVisible()  # nothing closed under the running Python code
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
        assert qapp.property("f2p_interrupted")
    finally:
        signal.signal(signal.SIGINT, previous)
        qapp.setProperty("f2p_interrupted", None)
