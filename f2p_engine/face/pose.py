"""Head pose of a face in a picture: its 68 landmarks + the head's 68 mesh landmarks -> `Pose`.

The mesh landmarks (`render.landmarks.MESH_LANDMARKS`, hm08 vertices with dlib's meaning) are the
3D model; the picture's landmarks are its image. A perspective-n-point fit (OpenCV's iterative
solver) with a pinhole camera of field of view `fov` gives the rotation, expressed in the
renderer's terms (`scene.Pose`: yaw towards the subject's left, pitch raising the chin, roll
clockwise in the image), so `Renderer.render(..., pose=estimate.pose)` draws the head turned as
in the picture. `render_fitted` draws a head that way over a picture: posed, then moved and
scaled so its landmarks fall on the picture's (the studio's fit check). The jaw points are left
out by default: they are fixed vertices on the mesh but slide along the silhouette in photos
(see `render.landmarks`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.render.landmarks import MESH_LANDMARKS
from f2p_engine.render.renderer import Renderer, Rendering
from f2p_engine.render.scene import Appearance, Pose, face_camera

#: dlib indices used by default: eyebrows, nose, eyes and lips (not the jaw line).
INNER_POINTS: tuple[int, ...] = tuple(range(17, 68))
#: Model frame (hm08: y up, face towards +z) -> OpenCV camera frame (y down, looking along +z).
_MODEL_TO_CV = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True, slots=True, kw_only=True)
class PoseEstimate:
    """`pose`: the head's rotation; `error`: RMS reprojection error of the fit, pixels."""

    pose: Pose
    error: float


def pose_from_rotation(rotation: np.ndarray) -> Pose:
    """The `Pose` whose `matrix()` has the (3, 3) rotation `rotation` (model frame, y up, +z to the camera)."""
    m = np.asarray(rotation, dtype=np.float64)
    # Pose.matrix is rz @ rx @ ry: its last row is (-cos p sin y, -sin p, cos p cos y), and its
    # middle column starts (sin r cos p, cos r cos p).
    pitch = np.degrees(np.arcsin(np.clip(-m[2, 1], -1.0, 1.0)))
    yaw = np.degrees(np.arctan2(-m[2, 0], m[2, 2]))
    roll = np.degrees(np.arctan2(m[0, 1], m[1, 1]))
    return Pose(yaw=float(yaw), pitch=float(pitch), roll=float(roll))


def estimate_pose(landmarks: np.ndarray, model_points: np.ndarray, image_size: float, *, fov: float = 20.0,
                  points: tuple[int, ...] = INNER_POINTS) -> PoseEstimate:
    """Head pose from (68, 2) pixel `landmarks` (x right, y down) of a picture `image_size` pixels high,
    and the (68, 3) mesh landmarks `model_points` of the head (dm, y up, face towards +z), both in
    dlib order. `fov`: the vertical field of view assumed for the picture's camera, degrees.
    InputError if the points do not constrain a pose (non-finite or degenerate)."""
    image = np.asarray(landmarks, dtype=np.float64)[list(points)]
    model = np.asarray(model_points, dtype=np.float64)[list(points)]
    if not (np.isfinite(image).all() and np.isfinite(model).all()):
        raise InputError("pose estimate: landmarks are not finite")
    focal = image_size / 2 / np.tan(np.radians(fov) / 2)
    camera = np.array([[focal, 0, image_size / 2 - 0.5], [0, focal, image_size / 2 - 0.5], [0, 0, 1]])
    centred = model - model.mean(axis=0)
    # Start from the head facing the camera at the distance its size in the picture suggests.
    spread = np.linalg.norm(image - image.mean(axis=0), axis=1).mean()
    if spread < 1.0:  # all points within a pixel: the solver would put the head at infinity, "exactly"
        raise InputError("pose estimate: the landmarks do not constrain a pose (they all coincide)")
    distance = focal * np.linalg.norm(centred[:, :2], axis=1).mean() / max(spread, 1e-6)
    rvec = cv2.Rodrigues(_MODEL_TO_CV)[0]
    offset = (image.mean(axis=0) - camera[:2, 2]) * distance / focal
    tvec = np.array([[offset[0]], [offset[1]], [distance]])
    ok, rvec, tvec = cv2.solvePnP(centred, image, camera, None, rvec, tvec, useExtrinsicGuess=True,
                                  flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        raise InputError("pose estimate: the landmarks do not fit a head")
    projected = cv2.projectPoints(centred, rvec, tvec, camera, None)[0].reshape(-1, 2)
    error = float(np.sqrt(np.mean(np.sum((projected - image) ** 2, axis=1))))
    rotation = _MODEL_TO_CV @ cv2.Rodrigues(rvec)[0]  # _MODEL_TO_CV is its own inverse
    return PoseEstimate(pose=pose_from_rotation(rotation), error=error)


def render_fitted(renderer: Renderer, vertices: np.ndarray, landmarks: np.ndarray, *,
                  appearance: Appearance | None = None, fov: float = 20.0) -> tuple[Rendering, PoseEstimate]:
    """The head of hm08 `vertices` ((19158, 3), dm) drawn over a picture whose face has (68, 2) pixel
    `landmarks` in the renderer's `size` x `size` frame: at the face's estimated pose, and moved,
    scaled and turned in the image plane (a similarity fit of the inner landmarks) onto the face."""
    estimate = estimate_pose(landmarks, np.asarray(vertices)[list(MESH_LANDMARKS)], renderer.size, fov=fov)
    target = np.asarray(landmarks, dtype=np.float64)[list(INNER_POINTS)]

    def onto_face(plain: np.ndarray) -> np.ndarray:
        matrix, _ = cv2.estimateAffinePartial2D(plain[list(INNER_POINTS)], target, method=cv2.LMEDS)
        if matrix is None:
            raise InputError("fit check: the landmarks do not fit a head")
        return matrix

    rendering = renderer.render(vertices, face_camera(fov=fov), pose=estimate.pose, appearance=appearance,
                                frame=onto_face)
    return rendering, estimate
