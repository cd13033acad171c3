#!/usr/bin/env bash
# Rebuild the bundled sample photo: a synthetic face (recipe 2 of seed 2026: short hair, the face clear) rendered front-on at
# 512 px, with its true recipe beside it. Synthetic, so no photo rights are involved; real photos
# for development come from ../shared/data/fetch_dev_photos.sh and are never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
f2p sample --count 3 --seed 2026 -o "$tmp"
cp "$tmp/sample_0002.mhm" resources/samples/synthetic_face.mhm
f2p render resources/samples/synthetic_face.mhm -o resources/samples/synthetic_face.png --size 512 --view front
