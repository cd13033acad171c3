"""Face detection and landmarks: `RGBImage` -> `list[Detection]` (MediaPipe detector + 468-point mesh).

`facedetect` finds face boxes on a small copy of the photo, `facemesh` puts the 468-point mesh on
each at full resolution, and `mesh68` derives the project's 68-point (dlib order) landmarks from it,
which alignment and region crops use. All models are MediaPipe's (Apache-2.0), run by onnxruntime
and loaded once per process (`load_models` warms them up).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.face.facedetect import SURE_SCORE, FaceBox, find_faces, surest
from f2p_engine.face.facemesh import MIN_PRESENCE, face_mesh
from f2p_engine.face.facemodels import face_model
from f2p_engine.face.image import RGBImage
from f2p_engine.face.mesh68 import landmarks_68

log = logging.getLogger(__name__)

#: Faces whose detector box is smaller than this (pixels) are refused: the landmark model needs
#: detail it cannot invent from a thumbnail of a face.
MIN_FACE_SIDE = 40.0
#: Photos at least this long (pixels) with no face in the whole view are searched again in tiles: the
#: full-range detector misses faces under ~6 % of the long side, 60 px here.
TILES_FROM = 1000


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


def load_models() -> None:
    """Verify and load the face models now and run each once (otherwise the first photo pays for it)."""
    for name in ("face_detection_short_range", "face_detection_full_range", "face_landmark"):
        model = face_model(name)
        model.run(np.zeros((model.side, model.side, 3), np.uint8))


def _meshed(image: RGBImage, boxes: list[FaceBox]) -> tuple[list[Detection], float]:
    """Detections of the boxes the landmark model confirms, and the side of the largest box too small
    to try (0 if none)."""
    faces, too_small = [], 0.0
    for box in boxes:
        if box.side < MIN_FACE_SIDE:
            too_small = max(too_small, box.side)
            continue
        mesh = face_mesh(image.pixels, box)
        if mesh.presence >= MIN_PRESENCE:
            faces.append(Detection(box=box.box, score=box.score, landmarks=landmarks_68(mesh.points), mesh=mesh.points))
    return faces, too_small


def detect_faces(image: RGBImage) -> list[Detection]:
    """Every face found, largest first. Empty when there is no face; the caller decides whether that
    is an error. InputError if faces were found but all are under `MIN_FACE_SIDE` pixels.

    The photo is looked at upright first. Unless every face found there is a sure one, it is also
    looked at turned by 90°, 180° and 270° and each face keeps the turn where the detector is surest
    (an upside-down face may pass for an upright one, with a low score). A big photo with no face at
    any turn is searched again upright in tiles, for small faces.
    """
    faces, too_small = _meshed(image, find_faces(image))
    if not faces or min(face.score for face in faces) < SURE_SCORE:
        for turns in (1, 2, 3):
            turned, small = _meshed(image, find_faces(image, turns))
            faces, too_small = faces + turned, max(too_small, small)
        faces = surest(faces)
    if not faces and max(image.width, image.height) >= TILES_FROM:
        faces, small = _meshed(image, find_faces(image, tiles=True))
        too_small = max(too_small, small)
    if not faces and too_small:
        raise InputError(f"{image.source}: face too small ({too_small:.0f} px across; at least "
                         f"{MIN_FACE_SIDE:.0f} px needed)")
    log.debug("%s: %d face(s)", image.source, len(faces))
    return sorted(faces, key=lambda face: -face.area)
