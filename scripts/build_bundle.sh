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

# Wall time of a whole process that shows the window, draws the first frame and exits.
timed_screenshot() {
  local start end
  start=$(date +%s.%N)
  xvfb-run -a -s "-screen 0 1920x1080x24" "$app" --screenshot "$@" 2>"$work/stderr" || {
    cat "$work/stderr" >&2; echo "build_bundle: the bundled app failed" >&2; exit 1; }
  end=$(date +%s.%N)
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$end"
}
timed_screenshot "$work/warm-up.png" >/dev/null  # first run pays for the cold disk cache
empty_s=$(timed_screenshot "$work/empty.png")
photo_s=$(timed_screenshot dist/f2p-studio-shot.png "$photo")

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
echo "start to first frame and exit (--screenshot, no photo): ${empty_s} s"
echo "with the photo pipeline ($(basename "$photo")): ${photo_s} s"
