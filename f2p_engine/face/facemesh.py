"""Face landmarks: `FaceBox` -> `FaceMesh` (MediaPipe's 468-point face mesh, ONNX, two passes).

The landmark model sees a 192 x 192 crop of a square region of interest turned so the eyes are level:
any roll, even upside down, reaches it upright. The first region comes from the detector's box and
eye keypoints; the second from the first mesh (its extent in the face's own upright frame and the
line through the outer eye corners), which centres and levels the face better than the coarse
detector could, as the model was trained to expect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from f2p_engine.face.facedetect import FaceBox
from f2p_engine.face.facemodels import face_model
from f2p_engine.face.warp import warp_face

#: Region side over the face's size (detector box or mesh extent), as the model was trained.
ROI_SCALE = 1.5
#: Mesh points at the outer corners of the subject's right eye (image left) and left eye.
RIGHT_EYE_CORNER, LEFT_EYE_CORNER = 33, 263
MESH_POINTS = 468
#: Below this presence probability the region holds no face (a detector false alarm).
MIN_PRESENCE = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Roi:
    """A square region of a photo: `centre` (x, y) source pixels, `side` pixels, `angle` radians of the
    line from the image-left eye to the image-right eye (0 when the face is upright)."""

    centre: tuple[float, float]
    side: float
    angle: float

    def to_crop(self, size: int) -> np.ndarray:
        """(2, 3) matrix taking source pixels to pixels of the `size` x `size` upright crop."""
        cos, sin = np.cos(self.angle), np.sin(self.angle)
        rotation = (size / self.side) * np.array([[cos, sin], [-sin, cos]])
        # Pixel centres sit on integers, so the crop's middle is at (size - 1) / 2.
        shift = (size - 1) / 2 - rotation @ np.asarray(self.centre)
        return np.hstack([rotation, shift[:, None]])


@dataclass(frozen=True, slots=True, kw_only=True)
class FaceMesh:
    """`points`: (468, 3) float64, x and y in source pixels, z relative depth in the same pixel units
    (smaller is nearer the camera); `presence`: the model's probability that a face fills the region."""

    points: np.ndarray = field(repr=False)
    presence: float


def roi_from_box(face: FaceBox) -> Roi:
    x0, y0, x1, y1 = face.box
    dx, dy = face.keypoints[1] - face.keypoints[0]
    return Roi(centre=((x0 + x1) / 2, (y0 + y1) / 2), side=ROI_SCALE * face.side, angle=float(np.arctan2(dy, dx)))


def roi_from_mesh(points: np.ndarray) -> Roi:
    dx, dy = points[LEFT_EYE_CORNER, :2] - points[RIGHT_EYE_CORNER, :2]
    angle = float(np.arctan2(dy, dx))
    cos, sin = np.cos(angle), np.sin(angle)
    upright = points[:, :2] @ np.array([[cos, -sin], [sin, cos]])  # each row rotated by -angle
    low, high = upright.min(axis=0), upright.max(axis=0)
    centre = np.array([[cos, -sin], [sin, cos]]) @ ((low + high) / 2)
    return Roi(centre=(float(centre[0]), float(centre[1])), side=ROI_SCALE * float(np.max(high - low)), angle=angle)


def mesh_in_roi(pixels: np.ndarray, roi: Roi) -> FaceMesh:
    """Run the landmark model on `roi` of (H, W, 3) uint8 `pixels`."""
    model = face_model("face_landmark")
    matrix = roi.to_crop(model.side)
    coordinates, logit = model.run(warp_face(pixels, matrix, model.side))
    # The model reports positions with the crop's pixel edges at 0 and 192: shift to pixel centres.
    crop = coordinates.reshape(MESH_POINTS, 3).astype(np.float64) - [0.5, 0.5, 0.0]
    inverse = np.linalg.inv(matrix[:, :2])
    points = np.empty_like(crop)
    points[:, :2] = (crop[:, :2] - matrix[:, 2]) @ inverse.T
    points[:, 2] = crop[:, 2] * (roi.side / model.side)
    presence = 1.0 / (1.0 + np.exp(-float(np.clip(logit.ravel()[0], -100.0, 100.0))))
    return FaceMesh(points=points, presence=presence)


def face_mesh(pixels: np.ndarray, face: FaceBox) -> FaceMesh:
    """The 468 points of the face `face` found in `pixels`: a pass from the detector's region, then
    one from the first mesh's."""
    first = mesh_in_roi(pixels, roi_from_box(face))
    return mesh_in_roi(pixels, roi_from_mesh(first.points))
