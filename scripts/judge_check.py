"""How well each identity judge tells a photo's mirror image from other people (evaluation judges' crop choice).

    PYTHONPATH=. python scripts/judge_check.py DIR [--min-face 150] [--limit N]

Every face of at least --min-face px (box width) in the photos of DIR is embedded by each judge,
as is the same face in the mirrored photo (detected again, so its landmarks differ as another
photo's would). "same" pairs a face with its mirror image, "different" pairs two faces (photos of
one person in DIR would count as different: look at the photos). Printed per judge: cosine
distances of both kinds, the AUC (share of (same, different) pairs in the right order) and d'
(gap of the means over the pooled standard deviation), and the median time per embedding.
"""

from __future__ import annotations

import argparse
import itertools
import time

import cv2
import numpy as np

from f2p_engine.evaluate.judges import FaceNetJudge, create_judge
from f2p_engine.evaluate.likeness import photo_files
from f2p_engine.face.detect import Detection, detect_faces
from f2p_engine.face.image import RGBImage, load_image


def _mirror(image: RGBImage, roll: float) -> tuple[RGBImage, np.ndarray]:
    """`image` mirrored (then rolled by `roll` degrees, shrunk to 60 % and darkened to 75 % unless roll is 0),
    and the (2, 3) map from its pixels to the new picture's."""
    height, width = image.height, image.width
    matrix = np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0]])
    size, gain = (width, height), 1.0
    if roll:
        scale = 0.6
        size, gain = (round(width * scale), round(height * scale)), 0.75
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), roll, scale)
        turn[:, 2] += (np.array(size) - (width, height)) / 2
        matrix = turn @ np.vstack([matrix, (0.0, 0.0, 1.0)])
    pixels = cv2.warpAffine(image.pixels, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return RGBImage(pixels=cv2.convertScaleAbs(pixels, alpha=gain), source=f"{image.source} mirrored"), matrix


def _match(face: Detection, matrix: np.ndarray, faces: list[Detection]) -> Detection | None:
    """The face in `faces` nearest `face`'s box centre mapped by `matrix` (within a third of its width)."""
    centre = matrix[:, :2] @ ((face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2) + matrix[:, 2]

    def offset(other: Detection) -> float:
        return float(np.hypot((other.box[0] + other.box[2]) / 2 - centre[0],
                              (other.box[1] + other.box[3]) / 2 - centre[1]))

    best = min(faces, key=offset, default=None)
    return best if best is not None and offset(best) < (best.box[2] - best.box[0]) / 3 else None


def _faces(folder: str, min_face: float, limit: int | None, roll: float
           ) -> list[tuple[RGBImage, Detection, RGBImage, Detection]]:
    """(photo, face, mirrored photo, the face found in it) for every usable face."""
    pairs = []
    for path in photo_files(folder)[:limit]:
        image = load_image(path)
        mirrored, matrix = _mirror(image, roll)
        mirrored_faces = detect_faces(mirrored)
        for face in detect_faces(image):
            match = _match(face, matrix, mirrored_faces)
            if face.box[2] - face.box[0] >= min_face and match is not None:
                pairs.append((image, face, mirrored, match))
    return pairs


def _report(name: str, originals: np.ndarray, mirrors: np.ndarray, seconds: list[float]) -> None:
    same = 1.0 - np.sum(originals * mirrors, axis=1)
    pairs = itertools.combinations(range(len(originals)), 2)
    different = np.array([1.0 - originals[i] @ originals[j] for i, j in pairs])
    auc = float(np.mean(same[:, None] < different[None, :]))
    d_prime = (different.mean() - same.mean()) / np.sqrt((different.var() + same.var()) / 2)
    print(f"{name:16s} same {same.mean():.3f} (median {np.median(same):.3f}, max {same.max():.3f})  "
          f"different {different.mean():.3f} (5th pct {np.percentile(different, 5):.3f}, min {different.min():.3f})  "
          f"AUC {auc:.4f}  d' {d_prime:.2f}  {1000 * np.median(seconds):.0f} ms/face")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--min-face", type=float, default=150.0, help="smallest face box width in px (default 150)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos by name")
    parser.add_argument("--roll", type=float, default=0.0,
                        help="a harder 'same': also roll the mirror image by this many degrees, shrink and darken it")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # a shared machine
    faces = _faces(args.folder, args.min_face, args.limit, args.roll)
    print(f"{len(faces)} faces of at least {args.min_face:g} px in {args.folder}")
    judges = {"dlib": create_judge("dlib"), "facenet aligned": FaceNetJudge("aligned"),
              "facenet box": FaceNetJudge("box")}
    for name, judge in judges.items():
        seconds: list[float] = []
        embeddings = []
        for image, face, mirrored, match in faces:
            start = time.perf_counter()
            embeddings.append((judge.embed(image, face.landmarks), judge.embed(mirrored, match.landmarks)))
            seconds.append((time.perf_counter() - start) / 2)
        originals, mirrors = (np.array(side) for side in zip(*embeddings, strict=True))
        _report(name, originals, mirrors, seconds)


if __name__ == "__main__":
    main()
