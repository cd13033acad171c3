"""Skin tone and eye colour measured in a photo's own pixels: `RGBImage` + `Detection` -> `ColourReading`.

Networks trained on renders cannot read skin tone or eye colour from photos (the domain gap is
widest exactly there), and raw pixels mix the skin with the light: a brightly lit dark face can be
lighter in the file than a dimly lit light one. So the face is measured against references in the
same photo, under the same light:

1. The face is aligned at `MEASURE_SIZE` px (eyes on fixed pixels) and turned into linear RGB.
2. Skin: pixels of four patches of the 468-point mesh (forehead, nose bridge, both cheeks), which
   keep out brows, eyes, lips and the beard area; within each patch, pixels far darker (shadow,
   stubble, stray hair) or brighter (highlights) than the patch median are dropped. The skin colour
   is the median of the patch medians.
3. White point and exposure: the sclera (the brightest, least coloured part of each eye opening),
   the teeth when the mouth is open, and the brightest neutral areas of the scene around the face
   give the light's colour; the sclera (else the teeth) gives its strength at the face. The skin is
   divided by that light, giving an estimate of its albedo relative to a white eye.
4. Tone: the individual typology angle (ITA = atan((L* - 50) / b*), the dermatology scale of Chardon
   et al. 1991) of the corrected skin; light above `LIGHT_ITA`, dark below `DARK_ITA`.
5. Eyes: the iris is the ring of the eye opening between the pupil and the sclera, found from the
   mesh's eye contour: the opening's pixels that are neither sclera-bright nor pupil/lash-dark,
   corrected by the same light, read as a hue and lightness and mapped to MakeHuman's eye materials.
   A small, shut or very dark iris reads "brown".

`ColourReading.reliable` is False (with the reasons in `notes`) when the face is small in the photo,
the light is extreme (skin clipped or nearly black), or no reference was found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from f2p_engine.face.detect import Detection
from f2p_engine.face.image import RGBImage

Tone = Literal["light", "medium", "dark"]
TONES: tuple[Tone, ...] = ("light", "medium", "dark")

#: Side of the aligned image the colours are measured in (the eye distance is 0.28 of it).
MEASURE_SIZE = 384

#: Mesh patches of bare skin (MediaPipe face-mesh indices, polygon order).
SKIN_PATCHES: dict[str, tuple[int, ...]] = {
    "forehead": (108, 69, 109, 10, 338, 299, 337, 9),
    "nose": (168, 417, 351, 419, 197, 196, 122, 193),
    "right_cheek": (117, 118, 101, 36, 205, 187, 123),
    "left_cheek": (346, 347, 330, 266, 425, 411, 352),
}
#: Eye openings (lid margins), subject's right eye (image left) then left eye.
EYE_OPENINGS: tuple[tuple[int, ...], ...] = (
    (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
    (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249),
)
#: Inner lip margin (the open mouth, where teeth show).
MOUTH_OPENING = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)


def srgb_to_linear(pixels: np.ndarray) -> np.ndarray:
    """uint8 sRGB -> float64 linear RGB in [0, 1]."""
    c = np.asarray(pixels, np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def polygon_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels inside the polygon of (N, 2) pixel `points`."""
    import cv2

    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance Y of linear RGB (..., 3) (Rec. 709 primaries, as sRGB)."""
    return np.asarray(rgb, np.float64) @ np.array([0.2126, 0.7152, 0.0722])


def _robust_median(rgb: np.ndarray, low: float, high: float) -> np.ndarray | None:
    """Median colour of (N, 3) linear `rgb` after dropping pixels darker than `low` or brighter than
    `high` times the median luminance (shadow, hair, stubble; highlights). None when too few remain."""
    if len(rgb) < MIN_PIXELS:
        return None
    y = luminance(rgb)
    middle = np.median(y)
    kept = rgb[(y >= low * middle) & (y <= high * middle)]
    return np.median(kept, axis=0) if len(kept) >= MIN_PIXELS else None


#: Fewest pixels a patch or reference needs to be read at all.
MIN_PIXELS = 12
#: Linear values at or above this are clipped by the camera (8-bit 252).
CLIPPED = 0.97


def _aligned(image: RGBImage, detection: Detection) -> tuple[np.ndarray, np.ndarray]:
    """(linear RGB (S, S, 3), mesh (468, 2) in its pixels) of the face aligned at `MEASURE_SIZE`."""
    from f2p_engine.face.aligned import align_face

    face = align_face(image, detection, size=MEASURE_SIZE)
    return srgb_to_linear(face.image), face.mesh[:, :2]


def _region(linear: np.ndarray, mesh: np.ndarray, polygon: tuple[int, ...]) -> np.ndarray:
    return linear[polygon_mask(linear.shape[:2], mesh[list(polygon)])]


def skin_colour(linear: np.ndarray, mesh: np.ndarray) -> tuple[np.ndarray | None, float]:
    """(median linear RGB of the skin patches or None, fraction of their pixels clipped)."""
    medians, clipped, total = [], 0, 0
    for polygon in SKIN_PATCHES.values():
        pixels = _region(linear, mesh, polygon)
        over = pixels.max(axis=1) >= CLIPPED
        clipped, total = clipped + int(over.sum()), total + len(pixels)
        median = _robust_median(pixels[~over], 0.75, 1.35)
        if median is not None:
            medians.append(median)
    skin = np.median(medians, axis=0) if medians else None
    return skin, clipped / max(total, 1)


def _brightest_neutral(pixels: np.ndarray, share: float, max_chroma: float) -> np.ndarray | None:
    """Median of the brightest `share` of the unclipped pixels whose chroma ((max - min) / max) is under
    `max_chroma`, or None."""
    pixels = pixels[(pixels.max(axis=1) < CLIPPED) & (pixels.max(axis=1) > 1e-3)]
    chroma = (pixels.max(axis=1) - pixels.min(axis=1)) / np.maximum(pixels.max(axis=1), 1e-6)
    neutral = pixels[chroma < max_chroma]
    if len(neutral) < MIN_PIXELS:
        return None
    y = luminance(neutral)
    top = neutral[y >= np.quantile(y, 1.0 - share)]
    return np.median(top, axis=0) if len(top) >= MIN_PIXELS // 2 else None


def sclera_colour(linear: np.ndarray, mesh: np.ndarray) -> np.ndarray | None:
    """Median linear RGB of the whites of both eyes (the brightest third of the openings), or None."""
    pixels = np.concatenate([_region(linear, mesh, eye) for eye in EYE_OPENINGS])
    return _brightest_neutral(pixels, 0.3, 0.6)


def teeth_colour(linear: np.ndarray, mesh: np.ndarray) -> np.ndarray | None:
    """Median linear RGB of the teeth (the brightest neutral part of an open mouth), or None."""
    return _brightest_neutral(_region(linear, mesh, MOUTH_OPENING), 0.3, 0.5)


def scene_white(linear: np.ndarray) -> np.ndarray | None:
    """Median linear RGB of the brightest neutral areas around the face (top 2 % of near-grey pixels)."""
    return _brightest_neutral(linear.reshape(-1, 3), 0.02, 0.15)


#: The face's outline (MediaPipe face-oval indices), for the face's own highlights.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


@dataclass(frozen=True, slots=True, kw_only=True)
class Samples:
    """What one face's pixels show, linear RGB (3,) float64 each, None when not found: `skin` (median of the
    skin patches), `sclera`, `teeth`, `scene` (brightest neutral areas of the aligned view), `highlight` (the
    face's brightest 1 %, luminance); `clipped`: fraction of skin pixels the camera clipped;
    `eye_distance`: pixels between the eye centres in the source photo."""

    skin: np.ndarray | None = field(repr=False)
    sclera: np.ndarray | None = field(repr=False)
    teeth: np.ndarray | None = field(repr=False)
    scene: np.ndarray | None = field(repr=False)
    highlight: float
    clipped: float
    eye_distance: float


def sample_face(image: RGBImage, detection: Detection) -> Samples:
    """Read the skin and the references of one detected face (see the module docstring)."""
    linear, mesh = _aligned(image, detection)
    skin, clipped = skin_colour(linear, mesh)
    face = polygon_mask(linear.shape[:2], mesh[list(FACE_OVAL)])
    for hole in (*EYE_OPENINGS, MOUTH_OPENING):
        face &= ~polygon_mask(linear.shape[:2], mesh[list(hole)])
    highlight = float(np.percentile(luminance(linear[face]), 99)) if face.any() else 0.0
    eyes = detection.landmarks
    eye_distance = float(np.linalg.norm(eyes[42:48].mean(axis=0) - eyes[36:42].mean(axis=0)))
    return Samples(skin=skin, sclera=sclera_colour(linear, mesh), teeth=teeth_colour(linear, mesh),
                   scene=scene_white(linear), highlight=highlight, clipped=clipped, eye_distance=eye_distance)
