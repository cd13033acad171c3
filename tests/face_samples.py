"""Real test pictures for the face-stage tests (built from skimage's public-domain photos)."""

from __future__ import annotations

import functools

import cv2
import numpy as np
from skimage import data

#: The astronaut's head in skimage.data.astronaut() (rows, columns), face box about 87 px.
HEAD = (slice(0, 300), slice(100, 350))


@functools.cache
def astronaut() -> np.ndarray:
    """(512, 512, 3) uint8 RGB, one frontal face."""
    image = data.astronaut()
    image.flags.writeable = False
    return image


@functools.cache
def two_faces() -> np.ndarray:
    """(560, 1000, 3) uint8 RGB: the astronaut's head enlarged 1.6x on the left, mirrored at 1x on the right."""
    canvas = np.full((560, 1000, 3), 90, np.uint8)
    head = astronaut()[HEAD]
    big = cv2.resize(head, None, fx=1.6, fy=1.6, interpolation=cv2.INTER_LINEAR)
    canvas[40:40 + big.shape[0], 20:20 + big.shape[1]] = big
    canvas[200:500, 650:900] = head[:, ::-1]
    canvas.flags.writeable = False
    return canvas


def no_face() -> np.ndarray:
    """(400, 600, 3) uint8 RGB: a cup of coffee."""
    return data.coffee()


def dlib_eye_centres(rgb: np.ndarray) -> np.ndarray:
    """(2, 2) eye centres found by dlib directly (not through f2p): an independent measurement."""
    import dlib
    import face_recognition_models

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    rects = detector(np.ascontiguousarray(rgb), 1)
    assert len(rects) >= 1, "dlib finds no face"
    shape = predictor(np.ascontiguousarray(rgb), max(rects, key=lambda r: r.area()))
    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    return np.stack([points[36:42].mean(axis=0), points[42:48].mean(axis=0)])


@functools.cache
def three_faces() -> np.ndarray:
    """(560, 1200, 3) uint8 RGB, a group photo: the astronaut's head at 1.4x, 1x mirrored and 0.8x."""
    canvas = np.full((560, 1200, 3), 90, np.uint8)
    head = astronaut()[HEAD]
    big = cv2.resize(head, None, fx=1.4, fy=1.4, interpolation=cv2.INTER_LINEAR)
    small = cv2.resize(head, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    canvas[60:60 + big.shape[0], 20:20 + big.shape[1]] = big
    canvas[200:500, 420:670] = head[:, ::-1]
    canvas[240:240 + small.shape[0], 760:760 + small.shape[1]] = small
    canvas.flags.writeable = False
    return canvas
