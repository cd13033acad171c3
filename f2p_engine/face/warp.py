"""Pixels under an affine transform: (H, W, 3) uint8 + (2, 3) matrix -> square output, without aliasing.

Shared by the landmark model's input crops (`facemesh`) and the aligned face (`aligned`).
"""

from __future__ import annotations

import cv2
import numpy as np

from f2p_engine.face.align import transform_points


def warp_face(pixels: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Warp (H, W, 3) uint8 `pixels` by the (2, 3) `matrix` into a `size` x `size` image.

    Only the source area that lands in the output is touched, and a strong reduction (a face from a
    40 Mpx photo) is done by area averaging first, so the result does not alias.
    """
    inverse = cv2.invertAffineTransform(matrix)
    corners = transform_points(inverse, np.array([[0, 0], [size, 0], [0, size], [size, size]], dtype=np.float64))
    height, width = pixels.shape[:2]
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int) - 2, 0, [width - 1, height - 1])
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)).astype(int) + 3, [x0 + 1, y0 + 1], [width, height])
    region = pixels[y0:y1, x0:x1]
    # Source -> region pixels is a shift; the composed matrix maps region pixels to the output.
    local = matrix.copy()
    local[:, 2] += matrix[:, :2] @ np.array([x0, y0], dtype=np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 0.5:
        # Given a size (not fx, fy), cv2 scales by exactly size / region size, pixel centres mapping
        # as u = (d + 0.5) / f - 0.5; the matrix follows that.
        shrunk_size = (max(1, round(region.shape[1] * scale)), max(1, round(region.shape[0] * scale)))
        shrunk = cv2.resize(region, shrunk_size, interpolation=cv2.INTER_AREA)
        fx, fy = shrunk_size[0] / region.shape[1], shrunk_size[1] / region.shape[0]
        local[:, 2] += local[:, :2] @ (0.5 / np.array([fx, fy]) - 0.5)
        local[:, 0] /= fx
        local[:, 1] /= fy
        region = shrunk
    return cv2.warpAffine(region, local, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
