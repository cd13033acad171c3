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
3. White point and exposure: the sclera (the brightest fifth of the eye openings), the teeth when the
   open mouth shows something brighter than the skin, and the brightest neutral areas of the aligned
   view around the face are white-ish surfaces under the same light; their geometric mean carries
   the light's colour and strength (`light_at_face`). The skin divided by it estimates its albedo
   relative to a white, independent of exposure and colour cast (tested on renders of known skins).
4. Tone: the individual typology angle (ITA = atan((L* - 50) / b*), the dermatology scale of Chardon
   et al. 1991) of the corrected skin; light above `LIGHT_ITA`, dark below `DARK_ITA`.
5. Eyes: MediaPipe's iris model (shipped as ONNX by `scripts/build_face_models.py`) finds each iris in
   a crop of the eye; the ring between the pupil and the iris's edge, inside the mesh's eye opening and
   without catch lights and lashes, corrected by the same light, is read as a hue and lightness and
   mapped to MakeHuman's eye materials. A small, shut or very dark iris reads "brown". (The iris found
   by its luminance in the eye opening, before, read 17 of 38 light-eyed CelebA faces; the model's
   iris 25 of 38, with the same thresholds.)

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


_CODES = np.arange(256) / 255.0
#: Linear value of each 8-bit sRGB code (the sRGB transfer function, looked up rather than computed).
_LINEAR = np.where(_CODES <= 0.04045, _CODES / 12.92, ((_CODES + 0.055) / 1.055) ** 2.4).astype(np.float32)


def srgb_to_linear(pixels: np.ndarray) -> np.ndarray:
    """uint8 sRGB -> float32 linear RGB in [0, 1]."""
    return _LINEAR[np.asarray(pixels, np.uint8)]


def polygon_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels inside the polygon of (N, 2) pixel `points`."""
    import cv2

    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance Y of linear RGB (..., 3) (Rec. 709 primaries, as sRGB)."""
    return np.asarray(rgb) @ np.array([0.2126, 0.7152, 0.0722], np.float32)


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
#: Mesh points at the corners of each eye opening (image left, image right), in `EYE_OPENINGS`' order.
EYE_CORNERS = ((33, 133), (362, 263))
#: Side of the eye crop MediaPipe's iris model reads, and the crop's width in eye-corner distances.
IRIS_CROP = 64
IRIS_CROP_WIDTH = 2.0
#: The iris is read on the ring between these shares of its radius (inside: the pupil; outside: the dark
#: limbus and the sclera's edge) ...
IRIS_RING = (0.3, 0.9)
#: ... without its brightest and darkest shares (catch lights; lashes and the lid's shadow).
IRIS_DROP_BRIGHT, IRIS_DROP_DARK = 0.1, 0.2
#: An eye is read when at least this share of the ring lies inside its opening (lids cover the rest).
MIN_IRIS_SHOWN = 0.3
#: References darker than this (linear luminance) are in deep shadow: no reference.
MIN_REFERENCE = 0.01
#: Linear values at or above this are clipped by the camera (8-bit 252).
CLIPPED = 0.97


def _aligned(image: RGBImage, detection: Detection) -> tuple[np.ndarray, np.ndarray]:
    """(linear RGB (S, S, 3), mesh (468, 2) in its pixels) of the face aligned at `MEASURE_SIZE`."""
    from f2p_engine.face.align import alignment_transform, transform_points
    from f2p_engine.face.warp import warp_face

    matrix = alignment_transform(detection.landmarks, MEASURE_SIZE)
    pixels = warp_face(image.pixels, matrix, MEASURE_SIZE)
    return srgb_to_linear(pixels), transform_points(matrix, detection.mesh[:, :2])


def _region(linear: np.ndarray, mesh: np.ndarray, polygon: tuple[int, ...]) -> np.ndarray:
    """(N, 3) pixels of `linear` inside the mesh polygon (masked within its bounding box only)."""
    points = mesh[list(polygon)]
    (x0, y0), (x1, y1) = np.floor(points.min(axis=0)).astype(int), np.ceil(points.max(axis=0)).astype(int) + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    window = linear[y0:y1, x0:x1]
    return window[polygon_mask(window.shape[:2], points - [x0, y0])]


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
    high, low = pixels.max(axis=1), pixels.min(axis=1)
    neutral = pixels[(high < CLIPPED) & (high > 1e-3) & (high - low < max_chroma * high)]
    if len(neutral) < MIN_PIXELS:
        return None
    y = luminance(neutral)
    top = neutral[y >= np.quantile(y, 1.0 - share)]
    return np.median(top, axis=0) if len(top) >= MIN_PIXELS // 2 else None


def sclera_colour(linear: np.ndarray, mesh: np.ndarray) -> np.ndarray | None:
    """Median linear RGB of the whites of both eyes (the brightest fifth of the eye openings), or None.

    No colour test: at CelebA's ~40 px between the eyes the white is a few pixels mixed with lashes."""
    pixels = np.concatenate([_region(linear, mesh, eye) for eye in EYE_OPENINGS])
    if len(pixels) < MIN_PIXELS:
        return None
    y = luminance(pixels)
    return np.median(pixels[y >= np.quantile(y, 0.8)], axis=0)


def _eye_crop_transform(mesh: np.ndarray, corners: tuple[int, int]) -> np.ndarray:
    """(2, 3) matrix from source pixels to a `IRIS_CROP` px crop of one eye: level, centred between its
    corners, `IRIS_CROP_WIDTH` times their distance wide."""
    left, right = mesh[corners[0], :2], mesh[corners[1], :2]
    angle = float(np.arctan2(*(right - left)[::-1]))
    scale = IRIS_CROP / (IRIS_CROP_WIDTH * max(float(np.linalg.norm(right - left)), 1e-6))
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    rotation = np.array([[cos, sin], [-sin, cos]])
    return np.hstack([rotation, (IRIS_CROP / 2 - rotation @ ((left + right) / 2))[:, None]])


def iris_colour(image: RGBImage, mesh: np.ndarray) -> np.ndarray | None:
    """Median linear RGB of both irises, or None when the eyes show too little: MediaPipe's iris model finds
    each iris (centre and edge) in a crop of the eye; its ring (`IRIS_RING`) inside the eye opening, less
    catch lights and lashes, is the iris. The model reads one eye as it was trained: the other is mirrored."""
    from f2p_engine.face.align import transform_points
    from f2p_engine.face.facemodels import face_model
    from f2p_engine.face.warp import warp_face

    model = face_model("iris_landmark")
    grid = np.mgrid[0:IRIS_CROP, 0:IRIS_CROP][::-1].astype(np.float64)  # (x, y) of every crop pixel
    rings = []
    for k, (corners, opening) in enumerate(zip(EYE_CORNERS, EYE_OPENINGS, strict=True)):
        matrix = _eye_crop_transform(mesh, corners)
        crop = warp_face(image.pixels, matrix, IRIS_CROP)
        mirrored = k == 1
        _, iris = model.outputs(crop[:, ::-1] if mirrored else crop)
        iris = iris.reshape(-1, 3)[:, :2].astype(np.float64)
        if mirrored:
            iris[:, 0] = IRIS_CROP - iris[:, 0]
        iris -= 0.5  # the model's pixel centres sit at +0.5 (as the face mesh's do)
        centre, radius = iris[0], float(np.linalg.norm(iris[1:] - iris[0], axis=1).mean())
        distance = np.hypot(grid[0] - centre[0], grid[1] - centre[1])
        ring = (distance >= IRIS_RING[0] * radius) & (distance <= IRIS_RING[1] * radius)
        seen = ring & polygon_mask((IRIS_CROP, IRIS_CROP), transform_points(matrix, mesh[list(opening), :2]))
        pixels = srgb_to_linear(crop[seen])
        # A shut or downcast eye shows the lid where the model puts the iris: read only open eyes.
        if len(pixels) >= MIN_PIXELS // 2 and seen.sum() >= MIN_IRIS_SHOWN * ring.sum():
            y = luminance(pixels)
            low, high = np.quantile(y, (IRIS_DROP_DARK, 1.0 - IRIS_DROP_BRIGHT))
            rings.append(pixels[(y >= low) & (y <= high)])
    pixels = np.concatenate(rings) if rings else np.empty((0, 3))
    return np.median(pixels, axis=0) if len(pixels) >= MIN_PIXELS else None


def teeth_colour(linear: np.ndarray, mesh: np.ndarray) -> np.ndarray | None:
    """Median linear RGB of the teeth (the brightest neutral part of an open mouth), or None."""
    return _brightest_neutral(_region(linear, mesh, MOUTH_OPENING), 0.3, 0.5)


def scene_white(linear: np.ndarray) -> np.ndarray | None:
    """Median linear RGB of the brightest neutral areas around the face (top 2 % of near-grey pixels)."""
    # Every other pixel each way: a quarter of the work, the same brightest areas.
    return _brightest_neutral(linear[::2, ::2].reshape(-1, 3), 0.02, 0.15)


@dataclass(frozen=True, slots=True, kw_only=True)
class Samples:
    """What one face's pixels show, linear RGB (3,) float64 each, None when not found: `skin` (median of the
    skin patches), `sclera`, `teeth`, `scene` (brightest neutral areas of the aligned view), `iris`;
    `clipped`: fraction of skin pixels the camera clipped;
    `eye_distance`: pixels between the eye centres in the source photo."""

    skin: np.ndarray | None = field(repr=False)
    sclera: np.ndarray | None = field(repr=False)
    teeth: np.ndarray | None = field(repr=False)
    scene: np.ndarray | None = field(repr=False)
    iris: np.ndarray | None = field(repr=False)
    clipped: float
    eye_distance: float


def sample_face(image: RGBImage, detection: Detection) -> Samples:
    """Read the skin and the references of one detected face (see the module docstring)."""
    linear, mesh = _aligned(image, detection)
    skin, clipped = skin_colour(linear, mesh)
    iris = iris_colour(image, detection.mesh)
    eyes = detection.landmarks
    eye_distance = float(np.linalg.norm(eyes[42:48].mean(axis=0) - eyes[36:42].mean(axis=0)))
    return Samples(skin=skin, sclera=sclera_colour(linear, mesh), teeth=teeth_colour(linear, mesh),
                   scene=scene_white(linear), iris=iris, clipped=clipped,
                   eye_distance=eye_distance)


def _lab_lightness_b(rgb: np.ndarray) -> tuple[float, float]:
    """CIELAB L* and b* (D65 white) of one linear RGB colour."""
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb
    t = xyz / np.array([0.9505, 1.0, 1.089])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16.0 / 116.0)
    return float(116.0 * f[1] - 16.0), float(200.0 * (f[1] - f[2]))


def typology_angle(rgb: np.ndarray) -> float:
    """Individual typology angle (degrees) of a linear RGB skin colour: atan((L* - 50) / b*); higher is lighter."""
    # No upper clip: a corrected skin brighter than the reference white is still ordered by its L* and b*.
    lightness, b = _lab_lightness_b(np.maximum(np.asarray(rgb, np.float64), 0.0))
    return float(np.degrees(np.arctan2(lightness - 50.0, b)))


def light_at_face(samples: Samples) -> np.ndarray | None:
    """(3,) linear RGB of a white surface at the face under the photo's light, or None without references:
    the geometric mean of the sclera, the teeth and the scene's brightest neutral areas found. Each is a
    white-ish surface under the same light, so the mean carries both the light's colour (white point)
    and its strength (exposure); no single one is dependable (lids shade the sclera, walls are tinted)."""
    # Teeth darker than the skin are in the mouth's shadow (or are lips): no reference.
    teeth = samples.teeth if samples.skin is not None and samples.teeth is not None \
        and luminance(samples.teeth) > luminance(samples.skin) else None
    references = [r for r in (samples.sclera, teeth, samples.scene) if r is not None and luminance(r) > MIN_REFERENCE]
    if not references:
        return None
    return np.exp(np.mean(np.log(np.maximum(references, 1e-4)), axis=0))


#: Corrected-skin typology angles (degrees) between tones: above `LIGHT_ITA` light, below `DARK_ITA` dark.
#: The correction divides by a white under the photo's light, so these sit higher than the dermatology
#: scale's own bands (light above 41°, brown below 10°). `LIGHT_ITA` splits the dev photos' faces labelled
#: light and medium best (12 of 14 and 7 of 8). The dev photos hold no dark face: `DARK_ITA` sits just
#: below every dev face (lowest 51.6°). Renders of MakeHuman's african skins read 40-52° at any exposure
#: and colour cast (asian 65-88°, caucasian ~80°): near the edge, because a render's brightest neutral
#: area is its mid-grey background, not a white.
LIGHT_ITA = 62.0
DARK_ITA = 48.0
#: An iris whose corrected ln(R / B) is above this is brown (melanin absorbs blue); below it blue, grey or
#: green. Set between the dev photos' light irises (-0.14, 0.02) and their brown ones (mostly above 0.05).
DARK_IRIS_LOG_RB = 0.1
#: Irises of faces with fewer pixels than this between the eye centres (source photo) are not read.
MIN_EYE_DISTANCE = 30.0
#: Skin of faces with fewer pixels than this between the eyes is read, but flagged unreliable.
RELIABLE_EYE_DISTANCE = 40.0
#: Irises darker than this share of the white reference are too dark to tell apart: brown.
MIN_IRIS_LUMINANCE = 0.03
#: Above this share of clipped skin pixels, or a skin darker than `DARK_SKIN_LUMINANCE` (linear), the light is extreme.
CLIPPED_SHARE = 0.2
DARK_SKIN_LUMINANCE = 0.005
#: MakeHuman's African slider for each tone (`african_share` blends them). The ethnic sliders also shape
#: the head, and skin tone cannot tell an Asian face from a tanned Caucasian one: the tone sets only the
#: African share, the models' Asian : Caucasian proportion shares the rest (`with_african`).
AFRICAN_BY_TONE: dict[Tone, float] = {"light": 0.0, "medium": 0.15, "dark": 0.9}


@dataclass(frozen=True, slots=True, kw_only=True)
class ColourReading:
    """Measured colours of one face.

    `tone`: light, medium or dark; `typology_angle`: ITA (degrees) of the corrected skin; `skin`: (3,)
    corrected skin colour, linear RGB relative to a white under the same light (None if no skin was seen);
    `african`: MakeHuman's African slider for the tone; `eye_colour`: one of
    MakeHuman's eye materials; `eye_light`: True for blue, grey or green irises, False for brown or unread;
    `reliable`: False when the measurement should not be trusted, `notes` say why.
    """

    tone: Tone
    typology_angle: float
    skin: np.ndarray | None = field(repr=False)
    african: float
    eye_colour: str
    eye_light: bool
    reliable: bool
    notes: tuple[str, ...]

    def describe(self) -> str:
        """One line for people: tone, angle, eyes and any doubt."""
        doubt = "" if self.reliable else f" (unreliable: {'; '.join(self.notes)})"
        return f"skin {self.tone} (ITA {self.typology_angle:.0f}°), eyes {self.eye_colour}{doubt}"


def tone_of(angle: float) -> Tone:
    return "light" if angle > LIGHT_ITA else "dark" if angle < DARK_ITA else "medium"


def african_share(angle: float) -> float:
    """MakeHuman's African slider for a corrected-skin ITA: each tone's value at its band's middle (the
    outer bands: 10° beyond their edge), linear between, so a face near a band edge does not jump."""
    anchors = (DARK_ITA - 10.0, (DARK_ITA + LIGHT_ITA) / 2, LIGHT_ITA + 10.0)
    values = [AFRICAN_BY_TONE[t] for t in ("dark", "medium", "light")]
    return round(float(np.interp(angle, anchors, values)), 6)


def with_african(ethnic: tuple[float, float, float], african: float) -> tuple[float, float, float]:
    """(African, Asian, Caucasian) with African set to `african` and the rest shared by Asian and
    Caucasian in their proportion in `ethnic` (equally when both are 0)."""
    asian, caucasian = ethnic[1], ethnic[2]
    total = asian + caucasian
    share = asian / total if total > 1e-9 else 0.5
    rest = 1.0 - african
    return (african, round(rest * share, 6), round(rest * (1.0 - share), 6))


def eye_colour_of(iris: np.ndarray | None, light: np.ndarray | None, eye_distance: float) -> tuple[str, bool, str]:
    """(MakeHuman eye material, light eyes?, why it is brown when unread or '') of a corrected iris colour."""
    if iris is None or eye_distance < MIN_EYE_DISTANCE:
        return "brown", False, "eyes too small to read"
    white = light if light is not None else np.full(3, max(float(iris.max()), 1e-3) * 4.0)
    corrected = iris / np.maximum(white, 1e-4)
    brightness = float(luminance(corrected))
    if brightness < MIN_IRIS_LUMINANCE:
        return "brown", False, "irises too dark to read"
    if np.log(max(corrected[0], 1e-4) / max(corrected[2], 1e-4)) > DARK_IRIS_LOG_RB:
        return ("brownlight" if brightness > 0.25 else "brown"), False, ""
    if corrected[1] > 1.1 * corrected[2]:
        return "green", True, ""
    return ("lightblue" if brightness > 0.25 else "blue"), True, ""


def read_colours(samples: Samples) -> ColourReading:
    """Tone, ethnic sliders and eye colour of one face's samples (see the module docstring)."""
    notes = []
    light = light_at_face(samples)
    if light is None:
        notes.append("no white reference (eyes, teeth or scene) found")
    if samples.eye_distance < RELIABLE_EYE_DISTANCE:
        notes.append(f"small face ({samples.eye_distance:.0f} px between the eyes)")
    if samples.skin is None:
        notes.append("no bare skin seen")
        skin, angle = None, LIGHT_ITA
    else:
        skin = samples.skin / light if light is not None else samples.skin
        angle = typology_angle(skin)
        if samples.clipped > CLIPPED_SHARE or luminance(samples.skin) < DARK_SKIN_LUMINANCE:
            notes.append("extreme light (skin clipped or nearly black)")
    eye_colour, eye_light, why = eye_colour_of(samples.iris, light, samples.eye_distance)
    if why:
        notes.append(why)
    skin_doubts = [n for n in notes if not n.startswith(("eyes", "irises"))]
    return ColourReading(tone=tone_of(angle), typology_angle=angle, skin=skin, african=african_share(angle),
                         eye_colour=eye_colour, eye_light=eye_light, reliable=not skin_doubts, notes=tuple(notes))


def measure_colours(image: RGBImage, detection: Detection) -> ColourReading:
    """Skin tone and eye colour of one detected face of `image`."""
    return read_colours(sample_face(image, detection))
