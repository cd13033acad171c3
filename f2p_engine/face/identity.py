"""Identity embedding: face in a photo -> 128-D dlib ResNet descriptor; likeness as cosine distance.

The evaluation's likeness measure (the paper's Table 4 uses FaceNet; we use dlib's descriptor).
The descriptor is computed on the original image with the face's 68 landmarks: dlib aligns its
own 150 px chip from them.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from f2p_engine.face.detect import Detection, model_path
from f2p_engine.face.image import RGBImage


@functools.cache
def _recogniser() -> Any:
    import dlib

    return dlib.face_recognition_model_v1(str(model_path("dlib_face_recognition_resnet_model_v1.dat")))


def identity_descriptor(image: RGBImage, detection: Detection) -> np.ndarray:
    """(128,) float64 descriptor of the face `detection` in `image` (same person: Euclidean < ~0.6)."""
    import dlib

    x0, y0, x1, y1 = (round(v) for v in detection.box)
    points = dlib.points([dlib.point(round(x), round(y)) for x, y in detection.landmarks])
    shape = dlib.full_object_detection(dlib.rectangle(x0, y0, x1 - 1, y1 - 1), points)
    return np.array(_recogniser().compute_face_descriptor(image.pixels, shape), dtype=np.float64)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cos(angle) between two descriptors: 0 identical direction, 1 orthogonal, 2 opposite."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms == 0.0:
        raise ValueError("cosine distance of a zero vector is undefined")
    return 1.0 - float(a @ b) / norms
