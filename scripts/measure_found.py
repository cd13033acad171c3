#!/usr/bin/env python3
"""Found or not: every face dlib finds in the photos must be found by f2p's finder, upright and turned.

dlib's HOG detector and 68-point model (the reference; not used by the product) run on each upright
photo. f2p's `detect_faces` runs on the photo turned by 0, 90, 180 and 270 degrees; its faces are
mapped back to the upright photo, and a dlib face counts as found when one of ours has its eye
midpoint within half dlib's inter-eye distance of dlib's. Prints per photo and turn the faces found,
missed (with dlib's eye midpoint, to look at) and extra (ours that dlib lacks), the median eye-centre
distance to dlib's relative to the inter-eye distance, and the finder's time.
Not a test: the dev photos are not in CI. Usage: python scripts/measure_found.py PHOTO...
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pick_mesh68 import dlib_faces  # noqa: E402

from f2p_engine.face.align import eye_centres  # noqa: E402
from f2p_engine.face.detect import detect_faces, load_models  # noqa: E402
from f2p_engine.face.image import RGBImage, load_image  # noqa: E402


def unturned(points: np.ndarray, turns: int, turned_shape: tuple[int, ...]) -> np.ndarray:
    """Pixel coordinates in `np.rot90(photo, turns)` -> the upright photo's."""
    height, width = turned_shape[:2]
    for _ in range(turns):
        # One np.rot90 turn sends (x, y) of a width-W picture to (y, W - 1 - x); W: the picture one turn less.
        width, height = height, width
        points = np.stack([width - 1 - points[:, 1], points[:, 0]], axis=1)
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, nargs="+")
    args = parser.parse_args()
    load_models()
    totals = {turns: [0, 0, 0] for turns in range(4)}  # found, missed, extra
    for path in args.photos:
        photo = load_image(path)
        references = [eye_centres(points) for points in dlib_faces(photo)]
        for turns in range(4):
            turned = RGBImage(pixels=np.ascontiguousarray(np.rot90(photo.pixels, turns)), source=path.name)
            began = time.perf_counter()
            faces = detect_faces(turned)
            elapsed = time.perf_counter() - began
            ours = [unturned(eye_centres(face.landmarks), turns, turned.pixels.shape) for face in faces]
            matched, errors, missed = set(), [], []
            for eyes in references:
                unit = float(np.linalg.norm(eyes[1] - eyes[0]))
                gaps = [float(np.linalg.norm(o.mean(axis=0) - eyes.mean(axis=0))) for o in ours]
                best = int(np.argmin(gaps)) if gaps else -1
                if best >= 0 and gaps[best] < unit / 2 and best not in matched:
                    matched.add(best)
                    errors.append(float(np.linalg.norm(ours[best] - eyes, axis=1).max()) / unit)
                else:
                    missed.append(eyes.mean(axis=0).round().tolist())
            extra = len(ours) - len(matched)
            totals[turns][0] += len(matched)
            totals[turns][1] += len(missed)
            totals[turns][2] += extra
            error = f"{np.median(errors):.3f}" if errors else "-"
            print(f"{path.name} {90 * turns:3d} deg: found {len(matched)}/{len(references)}, extra {extra}, "
                  f"eye error median {error}, {elapsed * 1000:.0f} ms" + (f", missed at {missed}" if missed else ""))
    for turns, (found, missed, extra) in totals.items():
        print(f"turned {90 * turns:3d} deg: {found} of dlib's {found + missed} faces found, {extra} more found")


if __name__ == "__main__":
    main()
