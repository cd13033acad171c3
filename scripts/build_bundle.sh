#!/usr/bin/env bash
# Build the one-folder f2p-studio bundle (dist/f2p-studio/) from pyinstaller.spec, then check it:
# under Xvfb the bundled app must start, load a photo, run the photo pipeline and write a
# screenshot whose 3D view is drawn. Prints the bundle size and the start-up times.
# Usage: scripts/build_bundle.sh [PHOTO]    (default: scikit-image's astronaut photo)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import PyInstaller" 2>/dev/null || python3 -m pip install -q "pyinstaller>=6.10"

python3 -m PyInstaller --noconfirm --log-level WARN pyinstaller.spec
app=dist/f2p-studio/f2p-studio
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
photo=${1:-}
if [ -z "$photo" ]; then
  photo=$work/astronaut.png
  python3 -c "import sys, cv2; from skimage import data; cv2.imwrite(sys.argv[1], data.astronaut()[:, :, ::-1])" "$photo"
fi

# Start to first frame and exit, timed inside one X server (so the server's own start is not counted):
# wall and CPU seconds of the whole process, median of 3 runs after a warm-up run for the disk cache.
xvfb-run -a -s "-screen 0 1920x1080x24" python3 - "$app" "$photo" dist/f2p-studio-shot.png >"$work/times" <<'PY'
import os, resource, statistics, subprocess, sys, time

app, photo, shot = sys.argv[1:]


def timed(*args: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([app, "--screenshot", *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"build_bundle: the bundled app failed: {done.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


timed(shot)  # warm-up: the first run pays for the cold disk cache
for label, args in (("start to first frame and exit (--screenshot, no photo)", (shot,)),
                    (f"with the photo pipeline ({os.path.basename(photo)})", (shot, photo))):
    walls, cpus = zip(*(timed(*args) for _ in range(3)))
    print(f"{label}: wall median {statistics.median(walls):.2f} s (min {min(walls):.2f}), "
          f"CPU {statistics.median(cpus):.2f} s, load average {os.getloadavg()[0]:.1f}")
PY

python3 - dist/f2p-studio-shot.png <<'PY'
import sys

import numpy as np
from PIL import Image

shot = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(int)
background = np.abs(shot - (46, 48, 54)).sum(axis=2) < 6  # the 3D view's clear colour
assert background.mean() > 0.05, f"{sys.argv[1]}: no 3D view in the screenshot"
print(f"screenshot {sys.argv[1]}: {shot.shape[1]}x{shot.shape[0]}, 3D view drawn")
PY
echo "bundle dist/f2p-studio: $(du -sh dist/f2p-studio | cut -f1); largest parts (MB):"
du -sm dist/f2p-studio/_internal/* | sort -rn | head -12 | sed 's/^/  /'
cat "$work/times"
