"""f2p-studio slider drag with a real mouse: frames drawn per second while X delivers mouse moves. Goal: >= 30 fps.

`bench_app_slider.py` sets slider values one frame at a time; here `xdotool` presses the mouse on a
slider's handle and moves it back and forth (--moves moves, --interval-ms apart) through the X server,
as a hand does, while the studio's event loop runs: mouse moves come faster than frames, so this is the
redraw rate an artist gets. Prints the frames drawn during the drag, the recipes evaluated, and what
the frame after the release was drawn as. Needs a display and xdotool: run under Xvfb.
Usage: xvfb-run -a -s "-screen 0 1920x1080x24" python3 benchmarks/bench_app_mouse_drag.py [--hair long01]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QPoint, QSettings
from PySide6.QtWidgets import QScrollArea

from app.main import create_application, wait_until


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--interval-ms", type=float, default=5.0)
    parser.add_argument("--param", default="nose/nose-trans-down|up")
    parser.add_argument("--hair", default="none", help="hair style worn during the drag (schema option)")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") or shutil.which("xdotool") is None:
        sys.exit("bench_app_mouse_drag: needs a DISPLAY (run it under xvfb-run) and xdotool")

    app = create_application()
    from app.settings import StudioSettings
    from app.window import StudioWindow

    scratch = tempfile.mkdtemp()
    settings = StudioSettings(QSettings(str(Path(scratch) / "s.ini"), QSettings.Format.IniFormat))
    window = StudioWindow(settings=settings, autosave_path=None)
    window.move(0, 0)
    canvas = window.head_view.canvas
    frames: list[tuple[float, str]] = []
    canvas.frame_drawn.connect(lambda _ms: frames.append((time.perf_counter(), canvas.shown)))
    recipes: list[float] = []
    window.state.mesh_changed.connect(lambda _vertices: recipes.append(time.perf_counter()))
    window.show()
    wait_until(app, lambda: bool(frames), 30)
    window.editor.set_choice("hair", args.hair)
    row = window.panel.rows[args.param]
    window.panel.sections[row.param.region].expand()
    wait_until(app, lambda: False, 0.3)  # the section laid out
    window.panel.findChild(QScrollArea).ensureWidgetVisible(row)
    wait_until(app, lambda: False, 1.0)  # the smoothed frame of the hair, the panel laid out

    handle = row.slider.mapToGlobal(QPoint(row.slider.width() // 2, row.slider.height() // 2))
    reach = row.slider.width() // 3
    commands = ["mousemove", str(handle.x()), str(handle.y()), "mousedown", "1", "sleep", "0.1"]
    for i in range(args.moves):  # back and forth across the middle two thirds of the groove
        t = i % 60
        x = handle.x() - reach + round(2 * reach * (t if t < 30 else 60 - t) / 30)
        commands += ["mousemove", str(x), str(handle.y()), "sleep", f"{args.interval_ms / 1000:.4f}"]
    commands += ["mouseup", "1"]
    before_frames, before_recipes = len(frames), len(recipes)
    start = time.perf_counter()
    mouse = subprocess.Popen(["xdotool", *commands])
    while mouse.poll() is None:
        app.processEvents()
        time.sleep(0.001)
    released = time.perf_counter()
    wait_until(app, lambda: False, 1.0)
    during = [t for t, _ in frames[before_frames:] if t <= released]
    after = [quality for t, quality in frames[before_frames:] if t > released]
    evaluated = len([t for t in recipes[before_recipes:] if t <= released])
    window.close()
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"mouse drag, hair {args.hair}: {len(during)} frames in {released - start:.2f} s = "
          f"{len(during) / (released - start):.1f} fps  (goal >= 30); {evaluated} recipes evaluated; "
          f"frames after the release: {after}; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
