"""Face detection: `RGBImage` -> `list[FaceBox]` (MediaPipe's BlazeFace detectors, ONNX, on a small copy).

The detectors see the whole photo letterboxed into their square input (128 px short range, 192 px
full range), so detection costs the same for a thumbnail and a 40 Mpx photo. Each model output row
belongs to one SSD anchor: an anchor is the centre of a cell of a feature map (stride 8 or 16 px at
128, 4 px at 192) and the row holds the face box centre offset and size, then six keypoints (eyes,
nose tip, mouth, ears) as offsets from the anchor, all in input pixels, followed by a score logit.
Overlapping boxes are merged by score-weighted averaging (as BlazeFace was trained to be used),
not by dropping all but one: the average is steadier than any single anchor.
The full-range detector finds the small faces of group photos (and places their eye keypoints better
than the short-range one), the short-range one the close-ups that fill the frame; it runs when the
full-range one found no sure face.
They are trained on upright faces: `find_faces` can look at the photo turned by quarter turns, or in
overlapping tiles for small faces (`detect` decides when).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import cv2
import numpy as np

from f2p_engine.face.facemodels import FaceModelName, face_model
from f2p_engine.face.image import RGBImage


@dataclass(frozen=True, slots=True, kw_only=True)
class FaceBox:
    """One face found by a detector, in source-image pixels (x right, y down, pixel centres on integers).

    `box`: (x0, y0, x1, y1) float64, axis-aligned; `score`: detector probability in [0, 1];
    `keypoints`: (6, 2) float64: subject's right eye (image left when upright), left eye, nose tip,
    mouth centre, right ear, left ear.
    """

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray = field(repr=False)

    @property
    def side(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


FaceT = TypeVar("FaceT", bound="Scored")


@dataclass(frozen=True, slots=True)
class _Detector:
    model: FaceModelName
    #: Feature maps as (stride in input pixels, anchors per cell), in the model's output order.
    layers: tuple[tuple[int, int], ...]
    min_score: float


#: Short range: faces over ~1/8 of the photo. Full range: down to ~1/30 (faces in group photos).
SHORT_RANGE = _Detector("face_detection_short_range", ((8, 2), (16, 6)), 0.5)
FULL_RANGE = _Detector("face_detection_full_range", ((4, 1),), 0.6)
#: The full-range detector misses faces under ~6 % of the long side (11 px of its 192); in tiles a third
#: of the long side it finds them down to ~2 % (80 px in a 4000 px photo).
TILES_PER_SIDE = 3
#: Detector probability of a sure face: no need to look further (other detector, other quarter turns).
SURE_SCORE = 0.8
#: Boxes overlapping more than this (intersection over union) are one face.
MERGE_IOU = 0.3
#: Before area averaging, photos are subsampled to a whole multiple (at most this) of the detector
#: input: area averaging every pixel of a 12 Mpx photo costs 70 ms, and by a fractional factor (640 px
#: to 192) 1 ms, against 0.1 ms for a whole one; detection does not need every pixel.
_PRESHRINK = 4


@functools.cache
def anchor_centres(side: int, layers: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(A, 2) float64 anchor centres in input pixels, in the order of the model's output rows."""
    blocks = []
    for stride, per_cell in layers:
        cells = side // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        centres = (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * stride
        blocks.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(blocks).astype(np.float64)


def letterbox(pixels: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The picture scaled to fit a black `side` x `side` square, centred, and the (2, 3) matrix taking
    square coordinates (0..side across pixel edges, as the detectors report them) to source pixels."""
    height, width = pixels.shape[:2]
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    multiple = min(_PRESHRINK, int(1.0 / scale))
    if multiple >= 2 and (width, height) != (size[0] * multiple, size[1] * multiple):
        pixels = cv2.resize(pixels, (size[0] * multiple, size[1] * multiple), interpolation=cv2.INTER_NEAREST)
    shrunk = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    square = np.zeros((side, side, 3), np.uint8)
    x0, y0 = (side - size[0]) // 2, (side - size[1]) // 2
    square[y0:y0 + size[1], x0:x0 + size[0]] = shrunk
    fx, fy = width / size[0], height / size[1]
    return square, np.array([[fx, 0.0, -x0 * fx - 0.5], [0.0, fy, -y0 * fy - 0.5]])


def _quarter_turn(side: int, turns: int) -> np.ndarray:
    """(2, 3) matrix taking coordinates in `np.rot90(square, turns)` back to the unturned square."""
    matrix = np.eye(3)
    for _ in range(turns % 4):
        # One np.rot90 turn (counter-clockwise) sends square point (x, y) to (y, side - x); undo it.
        matrix = matrix @ np.array([[0.0, -1.0, side], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    return matrix[:2]


def _decode(detector: _Detector, square: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (K, 4) as (cx, cy, w, h), keypoints (K, 6, 2), scores (K,), in square coordinates."""
    model = face_model(detector.model)
    raw, logits = model.run(square)
    # Clip like the detector's own post-processing before the logistic: no overflow warnings.
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits[:, 0].astype(np.float64), -100.0, 100.0)))
    keep = np.flatnonzero(scores >= detector.min_score)
    anchors = anchor_centres(model.side, detector.layers)[keep]
    rows = raw[keep].astype(np.float64)
    boxes = np.concatenate([anchors + rows[:, 0:2], rows[:, 2:4]], axis=1)
    keypoints = anchors[:, None, :] + rows[:, 4:16].reshape(-1, 6, 2)
    return boxes, keypoints, scores[keep]


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (cx, cy, w, h) box with each of (K, 4)."""
    low = np.maximum(box[:2] - box[2:] / 2, boxes[:, :2] - boxes[:, 2:] / 2)
    high = np.minimum(box[:2] + box[2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2)
    inter = np.prod(np.clip(high - low, 0.0, None), axis=1)
    return inter / (box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter + 1e-12)


def merge_overlaps(boxes: np.ndarray, keypoints: np.ndarray,
                   scores: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Weighted non-maximum suppression: each group of boxes overlapping the best remaining one is
    replaced by the score-weighted mean of its boxes and keypoints, scored by its best member."""
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    merged = []
    remaining = np.ones(len(scores), dtype=bool)
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        group = remaining & (_iou(boxes[i], boxes) > MERGE_IOU)
        group[i] = True
        weights = scores[group] / scores[group].sum()
        merged.append((weights @ boxes[group], np.tensordot(weights, keypoints[group], axes=1), float(scores[i])))
        remaining &= ~group
    return merged


def _find(detector: _Detector, pixels: np.ndarray, turns: int, origin: tuple[int, int] = (0, 0)) -> list[FaceBox]:
    """Faces in `pixels` (a window of the photo whose top-left pixel is `origin`) turned by `turns`."""
    side = face_model(detector.model).side
    square, to_source = letterbox(pixels, side)
    boxes, keypoints, scores = _decode(detector, np.ascontiguousarray(np.rot90(square, turns)))
    # Turned square -> square -> source, as one affine matrix.
    matrix = to_source @ np.vstack([_quarter_turn(side, turns), [0.0, 0.0, 1.0]])
    matrix[:, 2] += origin
    faces = []
    for (cx, cy, w, h), points, score in merge_overlaps(boxes, keypoints, scores):
        corners = np.array([[cx - w / 2, cy - h / 2], [cx + w / 2, cy + h / 2]]) @ matrix[:, :2].T + matrix[:, 2]
        x0, y0 = corners.min(axis=0)
        x1, y1 = corners.max(axis=0)
        faces.append(FaceBox(box=(float(x0), float(y0), float(x1), float(y1)), score=score,
                             keypoints=points @ matrix[:, :2].T + matrix[:, 2]))
    return faces


def _tiles(width: int, height: int) -> list[tuple[int, int, int]]:
    """(x0, y0, side) of overlapping squares a third of the long side, half a square apart."""
    side = max(width, height) // TILES_PER_SIDE
    step = side // 2
    xs = sorted({*range(0, max(width - side, 0) + 1, step), max(width - side, 0)})
    ys = sorted({*range(0, max(height - side, 0) + 1, step), max(height - side, 0)})
    return [(x, y, side) for y in ys for x in xs]


class Scored(Protocol):
    """Anything with an axis-aligned `box` (x0, y0, x1, y1) and a detector `score`."""

    @property
    def box(self) -> tuple[float, float, float, float]: ...

    @property
    def score(self) -> float: ...


def surest(faces: Sequence[FaceT]) -> list[FaceT]:
    """One per face: where boxes overlap, or one holds the other's centre (the same face seen at two
    quarter turns gives boxes of different shapes), the one the detectors are surest of; surest first."""
    kept: list[FaceT] = []
    for face in sorted(faces, key=lambda f: -f.score):
        box = _centre_size(face.box)
        if not any(_iou(box, _centre_size(k.box)[None])[0] > MERGE_IOU or _holds(k.box, box[:2])
                   or _holds(face.box, _centre_size(k.box)[:2]) for k in kept):
            kept.append(face)
    return kept


def _holds(box: tuple[float, float, float, float], point: np.ndarray) -> bool:
    return bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])


def find_faces(image: RGBImage, turns: int = 0, *, tiles: bool = False) -> list[FaceBox]:
    """Faces in the photo turned by `turns` quarter turns counter-clockwise (coordinates are always the
    unturned photo's), one box per face: on the whole view the full-range detector, then the
    short-range one unless every face found is a sure one; with `tiles` the full-range detector on
    overlapping squares a third of the long side (small faces in big photos)."""
    pixels = image.pixels
    if tiles:
        return surest([face for x, y, side in _tiles(image.width, image.height)
                       for face in _find(FULL_RANGE, pixels[y:y + side, x:x + side], turns, (x, y))])
    faces = _find(FULL_RANGE, pixels, turns)
    if not faces or min(face.score for face in faces) < SURE_SCORE:
        faces += _find(SHORT_RANGE, pixels, turns)
    return surest(faces)


def _centre_size(box: tuple[float, float, float, float]) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0], box[3] - box[1]])
