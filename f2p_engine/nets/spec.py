"""What a model sees and predicts, without torch: the preprocessing spec and the output layout.

The spec travels with every model (in its checkpoint and in the shipped manifest), and
`preprocess` is the one function training and inference both call, so the two cannot drift.

Images are aligned faces as produced by `f2p_engine.face.align` (square, uint8 RGB, H x W x 3,
eye centres on fixed pixels) with their 68 landmarks in aligned-image pixels, (68, 2).
Model inputs are float32 (3, height, width), channel-first, normalised by the spec's mean/std.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np

from f2p_engine.face.align import Box, crop_box, region_boxes
from f2p_engine.headmodel import schema

#: ONNX input names: image models take a preprocessed image, identity models a face descriptor.
IMAGE_INPUT = "image"
DESCRIPTOR_INPUT = "descriptor"
#: The crop of the whole aligned face (aggregate models); every other crop is a local region.
FACE = "face"
CROPS: tuple[str, ...] = (FACE, *schema.LOCAL_REGIONS)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: For nets trained from scratch: maps [0, 1] pixels to [-1, 1].
HALF_MEAN = (0.5, 0.5, 0.5)
HALF_STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True, slots=True, kw_only=True)
class Preprocessing:
    """How an aligned face becomes a model input: crop, resize to (height, width), normalise.

    `crop` is `FACE` (the whole aligned image) or a local region name; `mean`/`std` apply to
    RGB values scaled to [0, 1].
    """

    crop: str
    height: int
    width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __post_init__(self) -> None:
        if self.crop not in CROPS:
            raise ValueError(f"unknown crop {self.crop!r}; expected one of {', '.join(CROPS)}")
        if self.height < 8 or self.width < 8:
            raise ValueError(f"input size {self.height}x{self.width} is too small")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(crop=str(data["crop"]), height=int(data["height"]), width=int(data["width"]),
                   mean=tuple(float(v) for v in data["mean"]), std=tuple(float(v) for v in data["std"]))


@cache
def crop_aspect(crop: str) -> float:
    """Width / height of a crop's box (boxes have fixed sizes after alignment; 1.0 for the face)."""
    if crop == FACE:
        return 1.0
    box = region_boxes(np.zeros((68, 2)), 1000)[crop]
    return box.width / box.height


def input_size(crop: str, short_side: int) -> tuple[int, int]:
    """(height, width) of a model input for `crop` whose shorter side is `short_side` pixels.

    The aspect ratio of the region box is kept; both sides are rounded to multiples of 8 so
    stride-8 feature maps tile the input exactly.
    """
    aspect = crop_aspect(crop)
    height, width = (short_side, short_side * aspect) if aspect >= 1 else (short_side / aspect, short_side)
    return max(8, round(height / 8) * 8), max(8, round(width / 8) * 8)


def crop_image(aligned: np.ndarray, landmarks: np.ndarray, crop: str) -> np.ndarray:
    """The uint8 pixels of `crop` from an aligned H x W x 3 image (H == W) and its (68, 2) landmarks."""
    if crop == FACE:
        return aligned
    size = aligned.shape[0]
    box: Box = region_boxes(landmarks, size)[crop]
    return crop_box(aligned, box)


def preprocess(aligned: np.ndarray, landmarks: np.ndarray, spec: Preprocessing) -> np.ndarray:
    """Model input of one aligned face: float32 (3, spec.height, spec.width)."""
    pixels = crop_image(aligned, landmarks, spec.crop)
    if pixels.shape[:2] != (spec.height, spec.width):
        shrinking = pixels.shape[0] >= spec.height and pixels.shape[1] >= spec.width
        pixels = cv2.resize(np.ascontiguousarray(pixels), (spec.width, spec.height),
                            interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    scaled = pixels.astype(np.float32) / 255.0
    normalised = (scaled - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return np.ascontiguousarray(normalised.transpose(2, 0, 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputLayout:
    """What a model predicts, in output order (read from the schema, never listed by hand).

    `params`: continuous parameter names, a sub-sequence of `schema.CONTINUOUS` order; their
    outputs are in [0, 1] (the schema's normalised units). `groups`: (group name, option count)
    of each discrete group, whose outputs are logits.
    """

    params: tuple[str, ...]
    groups: tuple[tuple[str, int], ...]

    @property
    def param_indices(self) -> np.ndarray:
        """int64 indices of `params` into `schema.CONTINUOUS`."""
        order = {p.name: i for i, p in enumerate(schema.CONTINUOUS)}
        return np.asarray([order[name] for name in self.params], dtype=np.int64)

    @property
    def group_indices(self) -> np.ndarray:
        """int64 indices of `groups` into `schema.DISCRETE_GROUPS`."""
        order = {g.name: i for i, g in enumerate(schema.DISCRETE_GROUPS)}
        return np.asarray([order[name] for name, _ in self.groups], dtype=np.int64)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of the model's outputs: `continuous`, then `logits_<group>` per group."""
        return ("continuous", *(f"logits_{name}" for name, _ in self.groups))


def output_layout(crop: str) -> OutputLayout:
    """The aggregate model (`FACE`) predicts every parameter and every predicted discrete group;
    a local model predicts its region's sliders and the predicted groups of its region."""
    if crop == FACE:
        params = schema.CONTINUOUS
        groups = tuple(g for g in schema.DISCRETE_GROUPS if g.predicted)
    else:
        params = schema.params_in_region(crop)
        groups = tuple(g for g in schema.DISCRETE_GROUPS if g.predicted and g.region == crop)
    return OutputLayout(params=tuple(p.name for p in params), groups=tuple((g.name, len(g.options)) for g in groups))
