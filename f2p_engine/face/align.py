"""Landmarks -> alignment transform and region crop boxes (shared by photos and synthetic renders).

Landmarks follow dlib's 68-point convention, (68, 2) float pixel coordinates (x right, y down).
Point 36-41 is the subject's right eye (image left), 42-47 the subject's left eye. Alignment is
a similarity transform (rotation, uniform scale, translation) putting the two eye centres on
fixed pixels of a square aligned image; after it, every face has the same inter-eye distance,
so region boxes have fixed sizes and only their centres follow the landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from f2p_engine.headmodel.schema import LOCAL_REGIONS

#: Eye centres in the aligned image, as fractions of its side: (image-left eye, image-right eye).
EYE_TARGETS = np.array([[0.36, 0.38], [0.64, 0.38]])
RIGHT_EYE = slice(36, 42)  # subject's right eye, image left
LEFT_EYE = slice(42, 48)


@dataclass(frozen=True, slots=True)
class Box:
    """Axis-aligned pixel box [x0, x1) x [y0, y1) in aligned-image pixels (may extend past the edges)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def as_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


# Per region: landmark indices whose mean is the box centre, centre shift and box size, both in
# units of the inter-eye distance (constant after alignment). Sizes were chosen by looking at
# crops of photos and renders: each box holds its whole feature with a little context.
_REGION_LAYOUT: dict[str, tuple[tuple[int, ...], tuple[float, float], tuple[float, float]]] = {
    "eyes": (tuple(range(36, 48)), (0.0, 0.0), (2.0, 0.8)),
    "eyebrows": (tuple(range(17, 27)), (0.0, 0.0), (2.3, 0.7)),
    "nose": (tuple(range(27, 36)), (0.0, 0.05), (1.1, 1.3)),
    "mouth": (tuple(range(48, 68)), (0.0, 0.0), (1.5, 0.9)),
    "chin": (tuple(range(6, 11)), (0.0, -0.25), (1.4, 0.9)),
    "cheeks": ((1, 2, 3, 13, 14, 15, 31, 35), (0.0, -0.1), (2.7, 1.1)),
    "forehead": (tuple(range(17, 27)), (0.0, -0.6), (2.3, 0.9)),
}
assert tuple(sorted(_REGION_LAYOUT)) == tuple(sorted(LOCAL_REGIONS))


def eye_centres(landmarks: np.ndarray) -> np.ndarray:
    """(2, 2): centre of the image-left eye (points 36-41), then of the image-right eye (42-47)."""
    points = np.asarray(landmarks, dtype=np.float64)
    return np.stack([points[RIGHT_EYE].mean(axis=0), points[LEFT_EYE].mean(axis=0)])


def eye_targets(size: int) -> np.ndarray:
    """(2, 2) pixel positions of the eye centres in a `size` x `size` aligned image."""
    return EYE_TARGETS * size


def alignment_transform(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(2, 3) float64 similarity matrix mapping source pixels to aligned pixels (for cv2.warpAffine)."""
    src = eye_centres(landmarks)
    dst = eye_targets(size)
    src_vec, dst_vec = src[1] - src[0], dst[1] - dst[0]
    src_len = float(np.hypot(*src_vec))
    if src_len < 1e-6:
        raise ValueError("eye centres coincide; landmarks are degenerate")
    scale = float(np.hypot(*dst_vec)) / src_len
    angle = np.arctan2(dst_vec[1], dst_vec[0]) - np.arctan2(src_vec[1], src_vec[0])
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    translation = dst[0] - rotation @ src[0]
    return np.hstack([rotation, translation[:, None]])


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (N, 2) points."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def region_boxes(aligned_landmarks: np.ndarray, size: int) -> dict[str, Box]:
    """Crop box of every local region, from landmarks already in aligned-image pixels."""
    points = np.asarray(aligned_landmarks, dtype=np.float64)
    unit = float(np.hypot(*(eye_targets(size)[1] - eye_targets(size)[0])))
    boxes = {}
    for region in LOCAL_REGIONS:
        indices, (dx, dy), (w, h) = _REGION_LAYOUT[region]
        cx, cy = points[list(indices)].mean(axis=0) + np.array([dx, dy]) * unit
        half_w, half_h = w * unit / 2, h * unit / 2
        x0, y0 = round(cx - half_w), round(cy - half_h)
        boxes[region] = Box(x0, y0, x0 + round(2 * half_w), y0 + round(2 * half_h))
    return boxes


def crop_box(image: np.ndarray, box: Box) -> np.ndarray:
    """Pixels of `box` from an HxW[xC] image; parts outside the image are filled by edge replication.
    A box inside the image gives a view of it."""
    h, w = image.shape[:2]
    if min(box.x0, box.y0) >= 0 and box.x1 <= w and box.y1 <= h:
        return image[box.y0:box.y1, box.x0:box.x1]  # the common case, ~10x faster than the gather below
    ys = np.clip(np.arange(box.y0, box.y1), 0, h - 1)
    xs = np.clip(np.arange(box.x0, box.x1), 0, w - 1)
    return image[ys[:, None], xs[None, :]]
