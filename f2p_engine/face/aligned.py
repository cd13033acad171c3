"""Photo -> `AlignedFace`: the largest face warped so its eye centres land on fixed pixels, and its crops.

This is how real photos reach the models; synthetic samples go through the same `align` functions.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.face.align import Box, alignment_transform, crop_box, region_boxes, transform_points
from f2p_engine.face.detect import Detection, detect_faces
from f2p_engine.face.image import RGBImage
from f2p_engine.face.warp import warp_face

log = logging.getLogger(__name__)

#: Side of the aligned image in pixels, as used for training.
DEFAULT_SIZE = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class AlignedFace:
    """One face normalised like the synthetic training images (aligned-image pixels, x right, y down).

    `image`: (S, S, 3) uint8 RGB, eye centres on `align.eye_targets(S)`.
    `landmarks`: (68, 2) float64, dlib order, in `image` pixels.
    `mesh`: (468, 3) float64, MediaPipe's face mesh in `image` pixels (z: relative depth, same scale).
    `transform`: (2, 3) float64 similarity matrix, source-image pixels -> `image` pixels.
    `boxes`: region -> crop `Box` in `image` pixels; `crops`: region -> (h, w, 3) uint8 pixels of `image`.
    `detection`: the face in the source image; `faces_found`: faces detected in the source.
    """

    image: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)
    mesh: np.ndarray = field(repr=False)
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


def align_face(image: RGBImage, detection: Detection, *, size: int = DEFAULT_SIZE,
               faces_found: int = 1) -> AlignedFace:
    """Align one detected face of `image` into a `size` x `size` image and crop its regions."""
    matrix = alignment_transform(detection.landmarks, size)
    aligned = warp_face(image.pixels, matrix, size)
    landmarks = transform_points(matrix, detection.landmarks)
    # A similarity transform scales depth like x and y.
    mesh = np.column_stack([transform_points(matrix, detection.mesh[:, :2]),
                            detection.mesh[:, 2] * np.sqrt(abs(np.linalg.det(matrix[:, :2])))])
    boxes = region_boxes(landmarks, size)
    return AlignedFace(image=aligned, landmarks=landmarks, mesh=mesh, transform=matrix, boxes=boxes,
                       crops=crop_regions(aligned, boxes), detection=detection, faces_found=faces_found,
                       source=image.source)


def faces_in_photo(image: RGBImage) -> list[Detection]:
    """Every face of the photo, largest first; InputError naming the photo if it holds none."""
    faces = detect_faces(image)
    if not faces:
        raise InputError(f"{image.source}: no face found in the {image.width}x{image.height} image")
    return faces


def align_photo(image: RGBImage, *, size: int = DEFAULT_SIZE) -> AlignedFace:
    """Detect faces, align the largest. InputError if the picture holds no face."""
    faces = faces_in_photo(image)
    if len(faces) > 1:
        log.info("%s: %d faces found, using the largest", image.source, len(faces))
    return align_face(image, faces[0], size=size, faces_found=len(faces))
