"""The `photometric` adapter: hand-made image operations that move a photo toward the renders' look.

Aligned photo (S, S, 3) uint8 RGB + landmarks -> (S, S, 3) uint8 RGB, in four steps:
1. mild edge-preserving smoothing (renders have no pores, stubble or sensor noise);
2. colour cast: the skin's median CIELAB chroma (a*, b*) is pulled toward the renders' skin chroma.
   Skin lightness is left alone: it carries the skin-material and ethnicity parameters;
3. shading: part of the low-frequency lightness variation over the face (hard side light) is removed;
4. background: everything outside the face region (jaw line up to a forehead arc above the brows)
   becomes a plain vertical grey gradient, like the simplest synthetic backgrounds; hair, ears,
   neck and clothes go with it.
Every number lives in `PhotometricSettings`. Lengths are in units of the inter-eye distance, which
alignment makes constant, so the same settings work at every aligned size.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

from f2p_engine.adapt.base import Adapter, register_adapter
from f2p_engine.face.align import eye_centres

JAW = tuple(range(17))
BROWS = tuple(range(17, 27))
#: Cheek skin between lower eyelid, nose wing, mouth corner and jaw, image-left then image-right.
CHEEK_POLYGONS = ((36, 41, 40, 39, 31, 48, 4, 3, 2, 1), (45, 46, 47, 42, 35, 54, 12, 13, 14, 15))


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotometricSettings:
    """All parameters of the photometric adapter (lengths in inter-eye distances, colours 8-bit RGB).

    `forehead_height`: how far above the eyebrows the face region reaches; `margin`: how much the
    region grows; `feather`: width of its soft edge. `skin_chroma`: target median CIELAB (a*, b*)
    of cheek skin, measured with `skin_statistics` on 12 head-on renders of the first renderer
    (two of each skin material; median 9.3, 15.1; 21 real faces: 14.8, 24.2, the same hue but more
    saturated). Re-measure when the renderer's skin changes.
    `chroma_strength`, `shading_strength` in [0, 1]: fraction of the cast / of the low-frequency
    shading removed; `shading_scale`: Gaussian sigma that separates shading from features.
    `smoothing_colour` (8-bit levels) and `smoothing_radius`: the bilateral filter's two sigmas.
    """

    forehead_height: float = 1.1
    margin: float = 0.05
    feather: float = 0.08
    background_top: tuple[int, int, int] = (150, 150, 150)
    background_bottom: tuple[int, int, int] = (105, 105, 105)
    skin_chroma: tuple[float, float] = (9.3, 15.1)
    chroma_strength: float = 0.7
    shading_strength: float = 0.4
    shading_scale: float = 0.35
    smoothing_colour: float = 20.0
    smoothing_radius: float = 0.03

    def __post_init__(self) -> None:
        if not (0.0 <= self.chroma_strength <= 1.0 and 0.0 <= self.shading_strength <= 1.0):
            raise ValueError("chroma_strength and shading_strength must be in [0, 1]")


def _inter_eye(landmarks: np.ndarray) -> float:
    left, right = eye_centres(landmarks)
    return float(np.hypot(*(right - left)))


def face_mask(landmarks: np.ndarray, size: int, settings: PhotometricSettings) -> np.ndarray:
    """(S, S) float32 in [0, 1]: 1 on the face (jaw line up to a forehead arc), soft edge, 0 outside."""
    import cv2

    unit = _inter_eye(landmarks)
    forehead = landmarks[list(BROWS)] - np.array([0.0, settings.forehead_height * unit])
    hull = cv2.convexHull(np.vstack([landmarks[list(JAW)], forehead]).astype(np.float32))
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, np.rint(hull).astype(np.int32), 255)
    grow = max(1, round(settings.margin * unit))
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    sigma = max(0.5, settings.feather * unit / 2)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), sigma)


def skin_mask(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(S, S) bool: the two cheek polygons, where skin colour is measured."""
    import cv2

    mask = np.zeros((size, size), np.uint8)
    for polygon in CHEEK_POLYGONS:
        cv2.fillPoly(mask, [np.rint(landmarks[list(polygon)]).astype(np.int32)], 1)
    return mask.astype(bool)


@cache
def _lab_tables() -> threading.Thread:
    """The thread that has OpenCV build its CIELAB tables: the first Lab conversion of a process spends
    50-110 ms on them. Started when the adapter is made, so they are built while the models load (the
    conversion leaves Python's lock, so on the other core). Not a daemon: the interpreter waits for it at
    exit, so OpenCV is never torn down under it (a daemon thread still inside OpenCV aborted short processes,
    "terminate called")."""
    import cv2

    thread = threading.Thread(target=cv2.cvtColor, args=(np.zeros((1, 1, 3), np.float32), cv2.COLOR_RGB2Lab),
                              name="f2p-lab-tables")
    thread.start()
    return thread


def _to_lab(image: np.ndarray) -> np.ndarray:
    import cv2

    _lab_tables().join()  # never two first conversions at once: OpenCV builds the tables unguarded
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def skin_statistics(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(3,) float: median CIELAB (L* 0-100, a*, b*) of cheek skin in an aligned (S, S, 3) uint8 image.

    Run it over renders to set `PhotometricSettings.skin_chroma`.
    """
    lab = _to_lab(image)
    skin = lab[skin_mask(landmarks, image.shape[0])]
    if len(skin) == 0:
        raise ValueError("cheek polygons are empty; landmarks outside the image")
    return np.median(skin, axis=0)


@register_adapter
class PhotometricAdapter(Adapter):
    """Smoothing, skin colour cast and shading normalisation, plain background (see module docstring)."""

    name = "photometric"
    description = "plain background, skin colour and shading toward the renders, mild smoothing"

    def __init__(self, settings: PhotometricSettings | None = None) -> None:
        self.settings = settings or PhotometricSettings()
        _lab_tables()

    def apply(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        import cv2

        s = self.settings
        size = image.shape[0]
        landmarks = np.asarray(landmarks, dtype=np.float64)
        unit = _inter_eye(landmarks)
        smooth = cv2.bilateralFilter(image, -1, s.smoothing_colour, max(0.5, s.smoothing_radius * unit))
        lab = _to_lab(smooth)
        skin = lab[skin_mask(landmarks, size)]
        mask = face_mask(landmarks, size, s)
        if len(skin):
            lab[:, :, 1:] += s.chroma_strength * (np.asarray(s.skin_chroma) - np.median(skin[:, 1:], axis=0))
            # Low-frequency lightness over the face only (mask-normalised blur: no bleed from background).
            sigma = s.shading_scale * unit
            weight = cv2.GaussianBlur(mask, (0, 0), sigma)
            shading = cv2.GaussianBlur(lab[:, :, 0] * mask, (0, 0), sigma) / np.maximum(weight, 1e-3)
            lab[:, :, 0] -= s.shading_strength * mask * (shading - np.median(skin[:, 0]))
        face = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * 255.0
        rows = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
        background = (1 - rows) * np.asarray(s.background_top, np.float32) + rows * np.asarray(
            s.background_bottom, np.float32)
        out = mask[:, :, None] * face + (1 - mask[:, :, None]) * background
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
