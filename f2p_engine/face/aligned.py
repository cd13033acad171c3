"""Photo -> `AlignedFace`: the largest face warped so its eye centres land on fixed pixels, and its crops.

This is how real photos reach the models; synthetic samples go through the same `align` functions.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.face.align import Box, alignment_transform, crop_box, region_boxes, transform_points
from f2p_engine.face.detect import Detection, detect_faces
from f2p_engine.face.image import RGBImage

log = logging.getLogger(__name__)

#: Side of the aligned image in pixels, as used for training.
DEFAULT_SIZE = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class AlignedFace:
    """One face normalised like the synthetic training images (aligned-image pixels, x right, y down).

    `image`: (S, S, 3) uint8 RGB, eye centres on `align.eye_targets(S)`.
    `landmarks`: (68, 2) float64, dlib order, in `image` pixels.
    `transform`: (2, 3) float64 similarity matrix, source-image pixels -> `image` pixels.
    `boxes`: region -> crop `Box` in `image` pixels; `crops`: region -> (h, w, 3) uint8 pixels of `image`.
    `detection`: the face in the source image; `faces_found`: faces detected in the source.
    """

    image: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)
    transform: np.ndarray = field(repr=False)
    boxes: dict[str, Box]
    crops: dict[str, np.ndarray] = field(repr=False)
    detection: Detection
    faces_found: int
    source: str

    @property
    def size(self) -> int:
        return int(self.image.shape[0])

    def with_image(self, image: np.ndarray) -> AlignedFace:
        """The same face with another (S, S, 3) uint8 image in the same frame (e.g. stylised), crops redone."""
        if image.shape != self.image.shape or image.dtype != np.uint8:
            raise ValueError(f"expected {self.image.shape} uint8, got {image.shape} {image.dtype}")
        return dataclasses.replace(self, image=image, crops=crop_regions(image, self.boxes))


def crop_regions(image: np.ndarray, boxes: dict[str, Box]) -> dict[str, np.ndarray]:
    """Region -> (h, w, C) crop of `image` (edges replicated where a box leaves the image)."""
    return {region: np.ascontiguousarray(crop_box(image, box)) for region, box in boxes.items()}


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


def align_face(image: RGBImage, detection: Detection, *, size: int = DEFAULT_SIZE,
               faces_found: int = 1) -> AlignedFace:
    """Align one detected face of `image` into a `size` x `size` image and crop its regions."""
    matrix = alignment_transform(detection.landmarks, size)
    aligned = warp_face(image.pixels, matrix, size)
    landmarks = transform_points(matrix, detection.landmarks)
    boxes = region_boxes(landmarks, size)
    return AlignedFace(image=aligned, landmarks=landmarks, transform=matrix, boxes=boxes,
                       crops=crop_regions(aligned, boxes), detection=detection, faces_found=faces_found,
                       source=image.source)


def align_photo(image: RGBImage, *, size: int = DEFAULT_SIZE) -> AlignedFace:
    """Detect faces, align the largest. InputError if the picture holds no face."""
    faces = detect_faces(image)
    if not faces:
        raise InputError(f"{image.source}: no face found in the {image.width}x{image.height} image")
    if len(faces) > 1:
        log.info("%s: %d faces found, using the largest", image.source, len(faces))
    return align_face(image, faces[0], size=size, faces_found=len(faces))
