"""Augmentation: a random draw of everything about a synthetic photo except the face's identity.

`sample_augmentation(rng, recipe)` -> `Augmentation` (pose, camera, lights, materials, expression,
gaze, background, photometric degradation). Labels stay the recipe's neutral-face parameters:
expression and gaze change the picture, not the targets. The distribution, per sample:
- pose: yaw U(-25, 25), pitch U(-15, 15), roll U(-10, 10) degrees (`AugmentConfig`);
- camera: vertical field of view U(12, 45) degrees, framing scale U(0.9, 1.1), face offset
  U(-0.1, 0.1) dm in x and y (alignment undoes most of it; perspective and resampling remain);
- lighting: key light from azimuth U(-70, 70) and elevation U(-20, 60) degrees, intensity
  U(0.5, 1.1), colour temperature jitter; a fill light from the other side U(0, 0.45); ambient
  U(0.08, 0.4) with a small tint; specular strength U(0.02, 0.2);
- materials: skin and eye colour from the recipe; skin tone x U(0.96, 1.04); hair, eyebrows, eyelashes
  and beard from the recipe (MakeHuman's proxies, drawn as geometry), hair colour the recipe's times
  U(0.8, 1.25) per sample;
- make-up (drawn last): with probability 0.6 for women (Gender < 0.5), 0.05 for men: lipstick (p 0.6,
  amount U(0.3, 0.8)), eye shadow (p 0.5, U(0.3, 0.8)), eyeliner (p 0.5, U(0.3, 0.9)), blush (p 0.4,
  U(0.15, 0.4)), colours from `render.palette`;
- glasses (drawn last): with probability 0.2 (0.35 past Age 0.7), one of the `GLASSES_SHAPES`, a frame
  colour of `FRAME_COLOURS`; clear lenses (opacity U(0.05, 0.15)) or, one pair in four, tinted
  sunglasses (opacity U(0.5, 0.85));
- expression: neutral with probability 0.3, else 1-3 of the 52 CC0 face units at U(0, 0.45)
  (jaw and mouth units at most 0.3);
- gaze: yaw U(-12, 12), pitch U(-8, 8) degrees;
- background: flat colour, linear gradient, smooth noise or blurred shapes (equally likely),
  drawn at a quarter of the image side and upscaled bilinearly;
- photometric: Gaussian blur sigma U(0.3, 1.2) px with probability 0.4, Gaussian noise sigma
  U(1, 6) grey levels with probability 0.5, JPEG quality U(35, 95) with probability 0.5. The
  noise is a window, at a uniformly random offset, of one fixed 1024 x 1024 tile of white
  Gaussian noise (per pixel and channel the same law as fresh noise, independent within a
  sample; across samples windows may overlap), scaled by sigma; sums are rounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Literal

import cv2
import numpy as np

from f2p_engine.headmodel.asset import default_asset
from f2p_engine.recipe import Recipe
from f2p_engine.render.glasses import GLASSES_SHAPES
from f2p_engine.render.palette import BLUSH_COLOURS, EYE_SHADOW_COLOURS, HAIR_ALBEDO, LIPSTICK_COLOURS
from f2p_engine.render.scene import (
    PROXY_BROW_PAINT,
    Appearance,
    Camera,
    Glasses,
    Light,
    Lighting,
    Pose,
    face_camera,
)

#: The eye-centre distance the render camera frames, as a fraction of the image side, is the
#: aligned one divided by this. Samples are rendered straight into the aligned frame, so this only
#: sets the camera's distance for a field of view (hence the perspective), as it did for datasets 1.
RENDER_MARGIN = 1.2
BackgroundKind = Literal["flat", "gradient", "noise", "shapes"]
BACKGROUND_KINDS: tuple[BackgroundKind, ...] = ("flat", "gradient", "noise", "shapes")
_JAW_AND_MOUTH = ("jaw", "mouth")
_NOISE_TILE = 1024  # side of the sensor-noise tile (at least twice the image side)
_NOISE_TILE_SEED = 20240611


@dataclass(frozen=True, slots=True, kw_only=True)
class AugmentConfig:
    """Ranges of the augmentation (degrees); the defaults are the documented distribution."""

    yaw: float = 25.0
    pitch: float = 15.0
    roll: float = 10.0
    expression: bool = True
    photometric: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Photometric:
    """Image degradations applied after alignment, in this order (None = skipped)."""

    blur_sigma: float | None = None  # px
    noise_sigma: float | None = None  # grey levels
    jpeg_quality: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Background:
    """A procedural background: `kind` plus its own random seed and two sRGB colours."""

    kind: BackgroundKind
    colours: tuple[tuple[int, int, int], tuple[int, int, int]]
    seed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Augmentation:
    pose: Pose
    camera: Camera
    lighting: Lighting
    appearance: Appearance
    expression: Mapping[str, float] = field(default_factory=dict)
    background: Background
    photometric: Photometric


def _uniform(rng: np.random.Generator, half_width: float) -> float:
    return float(rng.uniform(-half_width, half_width))


def _direction(azimuth: float, elevation: float) -> tuple[float, float, float]:
    a, e = np.radians([azimuth, elevation])
    return float(np.sin(a) * np.cos(e)), float(np.sin(e)), float(np.cos(a) * np.cos(e))


def _warmth(rng: np.random.Generator, spread: float) -> tuple[float, float, float]:
    """A light colour between bluish and warm: the colour-temperature jitter."""
    t = float(rng.uniform(-spread, spread))
    return 1.0 + 0.5 * t, 1.0 + 0.1 * t, 1.0 - 0.5 * t


def sample_lighting(rng: np.random.Generator) -> Lighting:
    azimuth = float(rng.uniform(-70, 70))
    key = Light(direction=_direction(azimuth, float(rng.uniform(-20, 60))), colour=_warmth(rng, 0.3),
                intensity=float(rng.uniform(0.5, 1.1)))
    fill = Light(direction=_direction(-np.sign(azimuth) * float(rng.uniform(30, 90)), float(rng.uniform(-10, 40))),
                 colour=_warmth(rng, 0.3), intensity=float(rng.uniform(0.0, 0.45)))
    level = float(rng.uniform(0.08, 0.4))
    ambient = tuple(float(c) for c in level * np.asarray(_warmth(rng, 0.15)))
    return Lighting(lights=(key, fill), ambient=ambient, specular=float(rng.uniform(0.02, 0.2)))


def sample_expression(rng: np.random.Generator) -> dict[str, float]:
    if rng.random() < 0.3:
        return {}
    names = default_asset().expressions.names
    chosen = rng.choice(len(names), size=int(rng.integers(1, 4)), replace=False)
    units = {}
    for i in sorted(chosen):
        name = names[i]
        limit = 0.3 if name.startswith(_JAW_AND_MOUTH) else 0.45
        units[name] = float(rng.uniform(0.0, limit))
    return units


def sample_makeup(rng: np.random.Generator, *, female: bool) -> dict[str, object]:
    """`Appearance` make-up fields (lipstick, eye_shadow, blush, eyeliner) of one sample; {} for none."""
    if rng.random() >= (0.6 if female else 0.05):
        return {}
    makeup: dict[str, object] = {}
    for name, probability, low, high, colours in (("lipstick", 0.6, 0.3, 0.8, LIPSTICK_COLOURS),
                                                  ("eye_shadow", 0.5, 0.3, 0.8, EYE_SHADOW_COLOURS),
                                                  ("blush", 0.4, 0.15, 0.4, BLUSH_COLOURS)):
        if rng.random() < probability:
            makeup[name] = (*colours[int(rng.integers(len(colours)))], float(rng.uniform(low, high)))
    if rng.random() < 0.5:
        makeup["eyeliner"] = float(rng.uniform(0.3, 0.9))
    return makeup


#: Glasses frame colours (linear RGB): black, dark brown, tortoiseshell, steel, gold.
FRAME_COLOURS = ((0.015, 0.015, 0.015), (0.08, 0.04, 0.02), (0.25, 0.12, 0.04), (0.5, 0.5, 0.52), (0.6, 0.45, 0.15))


def sample_glasses(rng: np.random.Generator, *, old: bool) -> Glasses | None:
    if rng.random() >= (0.35 if old else 0.2):
        return None
    frame = FRAME_COLOURS[int(rng.integers(len(FRAME_COLOURS)))]
    if rng.random() < 0.25:
        tint = tuple(float(c) for c in rng.uniform(0.02, 0.3, 3))
        lens = (*tint, float(rng.uniform(0.5, 0.85)))
    else:
        lens = (0.8, 0.85, 0.9, float(rng.uniform(0.05, 0.15)))
    return Glasses(shape=int(rng.integers(len(GLASSES_SHAPES))), frame=frame, lens=lens)


def sample_background(rng: np.random.Generator) -> Background:
    kind = BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))]
    colours = tuple(tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(2))
    return Background(kind=kind, colours=colours, seed=int(rng.integers(2**31)))


def sample_photometric(rng: np.random.Generator) -> Photometric:
    blur = float(rng.uniform(0.3, 1.2)) if rng.random() < 0.4 else None
    noise = float(rng.uniform(1.0, 6.0)) if rng.random() < 0.5 else None
    quality = int(rng.integers(35, 96)) if rng.random() < 0.5 else None
    return Photometric(blur_sigma=blur, noise_sigma=noise, jpeg_quality=quality)


def sample_augmentation(rng: np.random.Generator, recipe: Recipe, config: AugmentConfig | None = None,
                        eye_distance: float = 0.28) -> Augmentation:
    """One random draw. `eye_distance`: aligned eye-centre distance as a fraction of the image side."""
    config = config or AugmentConfig()
    pose = Pose(yaw=_uniform(rng, config.yaw), pitch=_uniform(rng, config.pitch), roll=_uniform(rng, config.roll))
    # The neutral eye distance is 0.616 dm: frame it at eye_distance / RENDER_MARGIN of the image.
    width = 0.616 / eye_distance * RENDER_MARGIN * float(rng.uniform(0.9, 1.1))
    camera = face_camera(fov=float(rng.uniform(12, 45)), width=width, eye_height=0.5 - 0.12 / RENDER_MARGIN,
                         offset=(_uniform(rng, 0.1), _uniform(rng, 0.1)))
    lighting = sample_lighting(rng)
    colour = tuple(float(c) for c in np.clip(np.asarray(HAIR_ALBEDO[recipe.choice("hair_colour")])
                                             * rng.uniform(0.8, 1.25), 0.0, 1.0))
    appearance = Appearance(
        skin=recipe.choice("skin"), eye_colour=recipe.choice("eye_colour"),
        gaze_yaw=_uniform(rng, 12), gaze_pitch=_uniform(rng, 8), tone=float(rng.uniform(0.96, 1.04)),
        brow_colour=colour, brow_thickness=PROXY_BROW_PAINT, hair=recipe.choice("hair"), hair_colour=colour,
        eyebrows=recipe.choice("eyebrows"), eyelashes=recipe.choice("eyelashes"), beard=recipe.choice("beard"))
    expression = sample_expression(rng) if config.expression else {}
    background = sample_background(rng)
    photometric = sample_photometric(rng) if config.photometric else Photometric()
    appearance = replace(appearance, **sample_makeup(rng, female=recipe.value("macrodetails/Gender") < 0.5),
                         glasses=sample_glasses(rng, old=recipe.value("macrodetails/Age") > 0.7))
    return Augmentation(pose=pose, camera=camera, lighting=lighting, appearance=appearance, expression=expression,
                        background=background, photometric=photometric)


def render_background(background: Background, size: int) -> np.ndarray:
    """(size, size, 3) uint8 sRGB background image. Drawn at a quarter of the side and upscaled:
    every kind is smooth (shapes are blurred by size / 40), so nothing visible is lost."""
    rng = np.random.default_rng(background.seed)
    a, b = (np.asarray(c, dtype=np.float32) for c in background.colours)
    small = max(8, size // 4)
    if background.kind == "flat":
        image = np.broadcast_to(a.astype(np.uint8), (small, small, 3))
    elif background.kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        steps = np.linspace(0, 1, small, dtype=np.float32)
        ramp = np.cos(angle) * steps[None, :] + np.sin(angle) * steps[:, None]
        ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
        image = (a + (b - a) * ramp[:, :, None]).astype(np.uint8)
    elif background.kind == "noise":
        coarse = rng.random((int(rng.integers(2, 9)),) * 2 + (3,), dtype=np.float32)
        smooth = cv2.resize(coarse, (small, small), interpolation=cv2.INTER_CUBIC)
        image = np.clip(a + (b - a) * smooth, 0, 255).astype(np.uint8)
    else:
        image = np.broadcast_to(a.astype(np.uint8), (small, small, 3)).copy()
        for _ in range(int(rng.integers(3, 9))):
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            centre = tuple(int(c) for c in rng.integers(0, small, 2))
            if rng.random() < 0.5:
                cv2.circle(image, centre, int(rng.integers(small // 16, small // 3)), colour, -1)
            else:
                corner = tuple(int(c) for c in rng.integers(0, small, 2))
                cv2.rectangle(image, centre, corner, colour, -1)
        image = cv2.GaussianBlur(image, (0, 0), small / 40)
    return cv2.resize(np.ascontiguousarray(image), (size, size), interpolation=cv2.INTER_LINEAR)


@cache
def _noise_tile(side: int) -> np.ndarray:
    """(side, side, 3) float32 white Gaussian noise, sigma 1, the same in every process."""
    return np.random.default_rng(_NOISE_TILE_SEED).standard_normal((side, side, 3), dtype=np.float32)


def degrade(image: np.ndarray, photometric: Photometric, rng: np.random.Generator) -> np.ndarray:
    """Apply blur, noise and JPEG round trip to an (S, S, 3) uint8 RGB image.

    Returns a new array, or `image` itself (made contiguous) when `photometric` applies nothing.
    """
    out = image
    if photometric.blur_sigma is not None:
        out = cv2.GaussianBlur(out, (0, 0), photometric.blur_sigma)
    if photometric.noise_sigma is not None:
        height, width = out.shape[:2]
        tile = _noise_tile(max(_NOISE_TILE, 2 * height, 2 * width))
        y, x = (int(rng.integers(0, len(tile) - n + 1)) for n in (height, width))
        noise = tile[y:y + height, x:x + width] * np.float32(photometric.noise_sigma)
        out = cv2.add(out, noise, dtype=cv2.CV_8U)  # rounds and saturates
    if photometric.jpeg_quality is not None:
        # cv2.cvtColor swaps RGB and BGR ~40x faster than copying a reversed-channel numpy view.
        bgr = cv2.cvtColor(out, cv2.COLOR_RGB2BGR)
        _, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, photometric.jpeg_quality])
        out = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(out)
