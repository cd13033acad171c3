"""dlib's face chip without dlib: (H, W, 3) uint8 RGB + (68, 2) landmarks -> size x size x 3 uint8 RGB.

The networks trained on dlib's chips (its identity ResNet, the Cydral age and gender nets of
dlib-models) expect the face cut exactly as dlib's `get_face_chip_details` and `extract_image_chip`
cut it, so this module follows dlib's procedure step by step (its numbers carry over, the code is
ours):

1. Placement: a similarity transform (Umeyama least squares) from dlib's mean-face template,
   padded by `padding` on every side and scaled to `size`, to the face's landmarks. Only points
   27-54 and 60-64 take part (not the jaw, the eyebrows nor the lower lip), and the landmarks are
   rounded to whole pixels first, as dlib's `full_object_detection` holds them. The transform
   becomes a rotated rectangle in the image (centre, side `size * scale - 1` in dlib's inclusive
   pixel convention, angle).
2. Pyramid: while the rectangle halved once more still covers more pixels than the chip, the
   image is halved by dlib's `pyramid_down<2>` (5-tap 1 4 6 4 1 binomial filter on integers,
   truncating division by 256, every other row and column), so bilinear sampling never skips
   pixels. Only the rectangle's bounding box is filtered, grown by dlib's margin for the filter
   (2 pixels, doubled and 2 added per level).
3. Sampling: every chip pixel maps by the affine transform from the chip's corners to the
   rectangle's corners (in the pyramid level's frame) and is read bilinearly; a sample whose 2x2
   neighbourhood leaves the image is black, and values are truncated to uint8, as dlib does.
"""

from __future__ import annotations

import numpy as np

#: dlib's mean face: (x, y) of 68-point landmarks 17-67 in the unit square of an unpadded chip.
_MEAN_FACE_X = (
    0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124,
    0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
    0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
    0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
    0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
    0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
    0.553364, 0.490127, 0.42689,
)  # fmt: skip
_MEAN_FACE_Y = (
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891,
    0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
    0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733,
    0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
    0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
    0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
    0.784792, 0.824182, 0.831803, 0.824182,
)  # fmt: skip
_MEAN_FACE = np.stack([_MEAN_FACE_X, _MEAN_FACE_Y], axis=1)  # row k: landmark 17 + k

#: Landmarks that place the chip: nose, eyes, outer lips and the upper inner lip.
_PLACING_POINTS = np.array([*range(27, 55), *range(60, 65)])


def face_chip(pixels: np.ndarray, landmarks: np.ndarray, size: int, padding: float) -> np.ndarray:
    """The `size` x `size` x 3 uint8 RGB chip dlib's `get_face_chip(pixels, face, size, padding)` cuts
    for the face with (68, 2) pixel `landmarks` (dlib order, x right, y down) in (H, W, 3) uint8 RGB
    `pixels`. `padding`: margin around dlib's mean face on every side, as a fraction of its width."""
    if size < 2 or padding < 0:
        raise ValueError(f"a face chip needs size >= 2 and padding >= 0, got {size}, {padding}")
    centre, side, angle = _chip_placement(np.asarray(landmarks, dtype=np.float64), size, padding)
    height, width = pixels.shape[:2]

    # The rectangle in dlib's inclusive convention: [l, r] x [t, b] with r - l + 1 = side.
    full = np.array([centre - (side - 1) / 2, centre + (side - 1) / 2])  # rows: (l, t), (r, b)
    levels, grow, halved = 0, 2.0, _rect_down(full)
    while _area(halved) > size * size:
        halved = _rect_down(halved)
        levels += 1
        grow = grow * 2 + 2
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = _rotated_corners(full, rotation)
    box = np.concatenate([corners.min(axis=0) - grow, corners.max(axis=0) + grow])
    box = np.concatenate([np.maximum(box[:2], 0.0), np.minimum(box[2:], [width - 1, height - 1])])
    left, top, right, bottom = (int(v) for v in np.floor(box + 0.5))  # std::lround; all >= 0 here
    if right < left or bottom < top:
        return np.zeros((size, size, 3), dtype=np.uint8)
    image = np.asarray(pixels)[top:bottom + 1, left:right + 1]

    rect = full - [left, top]
    for _ in range(levels):
        image = _pyramid_down(image)
        rect = _rect_down(rect)
    tl, tr, bl, _ = _rotated_corners(rect, rotation)
    # Chip pixel (c, r) -> tl + c (tr - tl) / (size - 1) + r (bl - tl) / (size - 1): dlib's affine
    # transform through the chip's top-left, top-right and bottom-left corners.
    steps = np.arange(size, dtype=np.float64) / (size - 1)
    points = tl + steps[None, :, None] * (tr - tl) + steps[:, None, None] * (bl - tl)
    return _sample_bilinear(image, points)


def _chip_placement(landmarks: np.ndarray, size: int, padding: float) -> tuple[np.ndarray, float, float]:
    """Centre (2,) in pixels, side length in pixels and rotation angle (radians) of the chip in the image."""
    template = (padding + _MEAN_FACE[_PLACING_POINTS - 17]) / (2 * padding + 1) * size
    points = np.rint(landmarks[_PLACING_POINTS])
    scale_rotation, shift = _similarity_transform(template, points)
    angle = float(np.arctan2(scale_rotation[1, 0], scale_rotation[0, 0]))
    scale = float(np.hypot(scale_rotation[0, 0], scale_rotation[1, 0]))
    centre = scale_rotation @ np.array([size / 2, size / 2]) + shift
    return centre, size * scale, angle


def _similarity_transform(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares similarity (Umeyama 1991, eqs. 34-43) mapping (n, 2) `source` onto `target`:
    (2, 2) scaled rotation and (2,) shift."""
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_centred, target_centred = source - source_mean, target - target_mean
    source_variance = float((source_centred**2).sum(axis=1).mean())
    covariance = target_centred.T @ source_centred / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    signs = np.ones(2)
    determinant = np.linalg.det(covariance)
    if determinant < 0 or (determinant == 0 and np.linalg.det(u) * np.linalg.det(vt) < 0):
        signs[1 if singular[1] < singular[0] else 0] = -1
    rotation = u @ np.diag(signs) @ vt
    scale = float(singular @ signs) / source_variance if source_variance else 1.0
    return scale * rotation, target_mean - scale * rotation @ source_mean


def _rect_down(rect: np.ndarray) -> np.ndarray:
    """dlib's `pyramid_down<2>::rect_down`: a rectangle's corners in the next pyramid level."""
    return rect / 2 - [1.25, 0.75]


def _area(rect: np.ndarray) -> float:
    """Pixel count of an inclusive rectangle [[l, t], [r, b]] (dlib's `drectangle::area`)."""
    width, height = rect[1] - rect[0] + 1
    return 0.0 if width <= 0 or height <= 0 else float(width * height)


def _rotated_corners(rect: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """(4, 2) corners top-left, top-right, bottom-left, bottom-right of [[l, t], [r, b]] turned by
    `rotation` about its centre."""
    (left, top), (right, bottom) = rect
    corners = np.array([[left, top], [right, top], [left, bottom], [right, bottom]])
    centre = (rect[0] + rect[1]) / 2
    return (corners - centre) @ rotation.T + centre


def _pyramid_down(image: np.ndarray) -> np.ndarray:
    """One level of dlib's `pyramid_down<2>` on (H, W, 3) uint8: output pixel (c, r) is the 1 4 6 4 1
    binomial of source rows and columns 2r..2r+4 and 2c..2c+4, floor-divided by 256;
    ((H - 3) // 2, (W - 3) // 2) pixels, none for 8 source rows or columns or fewer."""
    height, width = image.shape[:2]
    if height <= 8 or width <= 8:
        return np.zeros((0, 0, 3), dtype=np.uint8)
    rows, cols = (height - 3) // 2, (width - 3) // 2
    source = image.astype(np.uint32)
    taps = ((0, 1), (1, 4), (2, 6), (3, 4), (4, 1))
    across = sum(weight * source[:, offset:offset + 2 * cols:2] for offset, weight in taps)
    down = sum(weight * across[offset:offset + 2 * rows:2] for offset, weight in taps)
    return (down // 256).astype(np.uint8)


def _sample_bilinear(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 samples of `image` at (H, W, 2) float (x, y) `points`: dlib's
    `interpolate_bilinear` (black where the 2x2 neighbourhood leaves the image, values truncated,
    the same float64 operations in the same order)."""
    height, width = image.shape[:2]
    x, y = points[..., 0].ravel(), points[..., 1].ravel()
    left, top = np.floor(x), np.floor(y)
    inside = (left >= 0) & (top >= 0) & (left + 1 < width) & (top + 1 < height)
    across, down = x - left, y - top
    # One gather of pixel rows per corner (points outside read pixel 0), then channel planes, so the
    # weights broadcast along the contiguous axis.
    corner = np.where(inside, top * width + left, 0).astype(np.intp)
    flat = np.ascontiguousarray(image).reshape(-1, 3)
    tl, tr, bl, br = (flat.take(corner + step, axis=0, mode="clip").T.astype(np.float64, order="C")
                      for step in (0, 1, width, width + 1))
    value = (1 - down) * ((1 - across) * tl + across * tr) + down * ((1 - across) * bl + across * br)
    chip = value.astype(np.uint8)
    chip[:, ~inside] = 0
    return np.ascontiguousarray(chip.T).reshape(*points.shape[:2], 3)
