"""Identity embedding: a face and its 68 landmarks -> 128-D dlib ResNet descriptor; cosine distance.

One chip procedure for every face f2p describes: dlib's 150 px chip (padding 0.25) placed by the
68 landmarks (`face.chips`, dlib's `get_face_chip_details` reads the points, not the box), so a
photo, an aligned photo and a synthetic render all reach the network the same way. The identity
member of the ensemble reads this descriptor of the aligned face; the evaluation's dlib judge reads
it too. The network is dlib's `dlib_face_recognition_resnet_model_v1.dat` (Davis E. King, CC0),
converted with its exact weights to ONNX by `scripts/build_identity_model.py` and run by
onnxruntime: the descriptor is dlib's `compute_face_descriptor` without jitter (cosine to dlib's
>= 0.99999 on photos and renders, tests/test_face_identity.py), without dlib in the run time.
"""

from __future__ import annotations

import numpy as np

from f2p_engine.face.chips import face_chip
from f2p_engine.face.facemodels import identity_session

DESCRIPTOR_SIZE = 128
#: dlib's chip for its identity ResNet (`compute_face_descriptor`'s defaults).
CHIP_SIZE = 150
CHIP_PADDING = 0.25


def load_recogniser() -> None:
    """Verify and load the ResNet now and run it once (otherwise the first face pays for it)."""
    identity_session().run(None, {"chip": np.zeros((1, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)})


def face_descriptor(pixels: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(128,) float32 descriptor of the face with (68, 2) pixel `landmarks` in HxWx3 uint8 RGB `pixels`
    (same person: Euclidean distance below ~0.6)."""
    chip = face_chip(pixels, landmarks, CHIP_SIZE, CHIP_PADDING)
    return identity_session().run(None, {"chip": chip[None]})[0][0]


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cos(angle) between two descriptors: 0 identical direction, 1 orthogonal, 2 opposite."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms == 0.0:
        raise ValueError("cosine distance of a zero vector is undefined")
    return 1.0 - float(a @ b) / norms
