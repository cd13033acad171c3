#!/usr/bin/env python3
"""Choose the fixed 468 -> 68 mapping of `f2p_engine/face/mesh68.py` by measurement against dlib.

dlib's HOG detector and 68-point model (the reference here only; the product no longer runs them) and
our finder (`facedetect` + `facemesh`) run on the same photos; faces are paired by eye position. For
each of dlib's 68 points the script picks the mesh point, or the weighted mean of two mesh points
(weights 1/4, 1/2, 3/4), whose median distance to dlib's point, relative to dlib's inter-eye distance,
is least over all faces: the median, because dlib's own points fail on some faces (a laughing, rolled
head in faceapi_sample1.jpg). Prints the table and the mean and median error per group of points.
Usage: python scripts/pick_mesh68.py PHOTO... (the dev photos: ../shared/data/fetch_dev_photos.sh)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from f2p_engine.face.facedetect import find_faces  # noqa: E402
from f2p_engine.face.facemesh import face_mesh  # noqa: E402
from f2p_engine.face.image import RGBImage, load_image  # noqa: E402

GROUPS = {"jaw": range(0, 17), "eyebrows": range(17, 27), "nose": range(27, 36), "eyes": range(36, 48),
          "mouth": range(48, 68)}
WEIGHTS = (0.25, 0.5, 0.75)
#: Single mesh points kept as candidates for each dlib point before pairs are tried.
CANDIDATES = 16


def dlib_faces(image: RGBImage) -> list[np.ndarray]:
    """(68, 2) points of every face dlib's HOG detector finds (upsampled once, as dlib advises)."""
    import dlib
    import face_recognition_models

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    return [np.array([(p.x, p.y) for p in predictor(image.pixels, rect).parts()], dtype=np.float64)
            for rect in detector(image.pixels, 1)]


def paired_faces(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """dlib points (F, 68, 2) and mesh points (F, 468, 2) of the faces both found."""
    references, meshes = [], []
    for path in paths:
        image = load_image(path)
        ours = [face_mesh(image.pixels, box).points[:, :2] for box in find_faces(image)]
        for reference in dlib_faces(image):
            eyes = reference[36:48].mean(axis=0)
            unit = np.linalg.norm(reference[42:48].mean(axis=0) - reference[36:42].mean(axis=0))
            distances = [np.linalg.norm(mesh.mean(axis=0) - eyes) for mesh in ours]
            if distances and min(distances) < unit:
                references.append(reference)
                meshes.append(ours[int(np.argmin(distances))])
            else:
                print(f"{path.name}: dlib's face at {eyes.round()} has no mesh", file=sys.stderr)
    return np.stack(references), np.stack(meshes)


def pick(references: np.ndarray, meshes: np.ndarray) -> tuple[list[tuple[int, int, float]], np.ndarray]:
    """Per dlib point (a, b, w): the mapped point is w * mesh[a] + (1 - w) * mesh[b]; and (F, 68) errors."""
    units = np.linalg.norm(references[:, 42:48].mean(axis=1) - references[:, 36:42].mean(axis=1), axis=1)
    table, errors = [], np.empty(references.shape[:2])
    for k in range(68):
        single = np.linalg.norm(meshes - references[:, k:k + 1], axis=2) / units[:, None]  # (F, 468)
        best = np.argsort(np.median(single, axis=0))[:CANDIDATES]
        options = [((int(a), int(a), 1.0), single[:, a]) for a in best[:1]]
        for i, a in enumerate(best):
            for b in best[i + 1:]:
                for w in WEIGHTS:
                    mapped = w * meshes[:, a] + (1 - w) * meshes[:, b]
                    options.append(((int(a), int(b), w), np.linalg.norm(mapped - references[:, k], axis=1) / units))
        choice, error = min(options, key=lambda option: float(np.median(option[1])))
        table.append(choice)
        errors[:, k] = error
    return table, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, nargs="+")
    args = parser.parse_args()
    references, meshes = paired_faces(args.photos)
    table, errors = pick(references, meshes)
    print(f"{len(references)} faces paired")
    print("_TABLE = (")
    for k in range(0, 68, 4):
        print("    " + " ".join(f"({a}, {b}, {w})," for a, b, w in table[k:k + 4]))
    print(")")
    for group, indices in GROUPS.items():
        group_errors = errors[:, list(indices)]
        print(f"{group}: error mean {group_errors.mean():.3f}, median {np.median(group_errors):.3f} "
              "of the inter-eye distance")
    units = np.linalg.norm(references[:, 42:48].mean(axis=1) - references[:, 36:42].mean(axis=1), axis=1)
    mapped = np.stack([[w * m[a] + (1 - w) * m[b] for a, b, w in table] for m in meshes])
    for name, eye in (("image-left eye centre", slice(36, 42)), ("image-right eye centre", slice(42, 48))):
        error = np.linalg.norm(mapped[:, eye].mean(axis=1) - references[:, eye].mean(axis=1), axis=1) / units
        print(f"{name}: error mean {error.mean():.3f}, median {np.median(error):.3f}, max {error.max():.3f} "
              "of the inter-eye distance")


if __name__ == "__main__":
    main()
