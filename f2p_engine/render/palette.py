"""How the head looks, in one place: skin, lip, iris, sclera and pupil colours, iris and pupil sizes,
and where the eyebrows grow. The dataset renderer (`render.renderer`) and the studio's live preview
both draw from these values, so a head looks the same in training renders, the fit check and the
3D view. Colours are linear RGB albedo in [0, 1] (the renderer applies gamma 2 on output).
"""

from __future__ import annotations

import numpy as np

#: Skin albedo of the young skins; male skins also get beard shadow.
YOUNG_SKIN_ALBEDO: dict[str, tuple[float, float, float]] = {
    "caucasian_female": (0.82, 0.55, 0.46),
    "caucasian_male": (0.70, 0.44, 0.36),
    "african_female": (0.30, 0.17, 0.11),
    "african_male": (0.21, 0.12, 0.08),
    "asian_female": (0.78, 0.60, 0.36),
    "asian_male": (0.62, 0.47, 0.27),
}
#: How older skins differ from the young one of the same family: (saturation kept, brightness kept).
#: Older skin is a little less saturated and a little darker (less blood flow, more uneven pigment), as
#: MakeHuman's middleage and old skin textures are; the steps stay small so the tone family still reads.
SKIN_AGEING: dict[str, tuple[float, float]] = {"young": (1.0, 1.0), "middleage": (0.85, 0.9), "old": (0.7, 0.8)}


def aged_albedo(albedo: tuple[float, float, float], age: str) -> tuple[float, float, float]:
    """`albedo` (linear RGB) with the saturation and brightness of skin of `age` (`SKIN_AGEING`)."""
    saturation, brightness = SKIN_AGEING[age]
    rgb = np.asarray(albedo)
    grey = float(rgb @ np.array([0.2126, 0.7152, 0.0722]))
    aged = brightness * (grey + saturation * (rgb - grey))
    return (round(float(aged[0]), 4), round(float(aged[1]), 4), round(float(aged[2]), 4))


#: Skin albedo of each skin option (all of schema `SKINS`, `<age>_<ethnic>_<gender>`).
SKIN_ALBEDO: dict[str, tuple[float, float, float]] = {
    f"{age}_{family}": aged_albedo(albedo, age) for age in SKIN_AGEING for family, albedo in YOUNG_SKIN_ALBEDO.items()
}
#: Iris albedo of each eye-colour option (schema `EYE_COLOURS` order).
IRIS_ALBEDO: dict[str, tuple[float, float, float]] = {
    "brown": (0.10, 0.04, 0.015),
    "brownlight": (0.35, 0.17, 0.05),
    "green": (0.12, 0.25, 0.07),
    "blue": (0.15, 0.30, 0.55),
    "lightblue": (0.40, 0.58, 0.75),
    "deepblue": (0.02, 0.06, 0.35),
}
SCLERA_ALBEDO = (0.78, 0.74, 0.70)
PUPIL_ALBEDO = (0.01, 0.01, 0.01)
#: Lips: the skin albedo times this.
LIP_TINT = (0.85, 0.55, 0.55)
#: Iris and pupil edges on the eyeball, as the sine of the angle from the gaze axis.
IRIS_SINE = 0.52
PUPIL_SINE = 0.17
#: Default eyebrow hair colour (`scene.Appearance.brow_colour`).
BROW_ALBEDO = (0.05, 0.035, 0.025)

#: Linear RGB albedo of each natural hair colour (schema `HAIR_COLOURS`): hair, eyebrows and beard.
HAIR_ALBEDO: dict[str, tuple[float, float, float]] = {
    "black": (0.018, 0.015, 0.013),
    "dark_brown": (0.06, 0.035, 0.02),
    "light_brown": (0.20, 0.11, 0.05),
    "blonde": (0.55, 0.40, 0.20),
    "red": (0.35, 0.10, 0.03),
    "grey": (0.30, 0.29, 0.28),
    "white": (0.70, 0.68, 0.65),
}
#: Eyelashes: always dark, whatever the hair colour (mascara or not, they read dark at a distance).
LASH_ALBEDO = (0.02, 0.015, 0.012)
#: Point hair strands radiate from (dm, rest pose): the crown, a little behind the top of the head.
HAIR_CROWN = (0.0, 8.2, -0.35)

#: Facial hair areas on the neutral (rest) hm08 head (dm): a moustache between the nose base and the upper
#: lip (y from, y to, largest |x|); a goatee on the chin below the lower lip (largest y, largest |x|).
MOUSTACHE = (6.63, 6.80, 0.34)
GOATEE = (6.53, 0.30)

#: Make-up patches on the neutral (rest) hm08 head (dm), all on its front (z >= `front_z`): eye shadow a
#: Gaussian about (|x|, y) = lid[:2] with widths lid[2:] on the upper lid (above the lash line `lash_y`);
#: liner a band `liner_height` wide along the lash line; blush a round patch about cheek[:2], radius cheek[2].
MAKEUP = {"front_z": 1.0, "lid": (0.31, 7.38, 0.1, 0.055), "lash_y": 7.325, "liner_height": 0.012,
          "cheek": (0.47, 6.98, 0.11)}
#: Make-up colours (linear RGB) the data factory draws from.
LIPSTICK_COLOURS = ((0.45, 0.03, 0.06), (0.6, 0.15, 0.2), (0.3, 0.05, 0.08), (0.55, 0.25, 0.25), (0.25, 0.02, 0.1))
EYE_SHADOW_COLOURS = ((0.15, 0.1, 0.08), (0.3, 0.2, 0.3), (0.1, 0.12, 0.25), (0.35, 0.25, 0.15), (0.05, 0.05, 0.05))
BLUSH_COLOURS = ((0.8, 0.35, 0.35), (0.7, 0.3, 0.25), (0.6, 0.25, 0.3))

#: Eyebrow band on the neutral (rest) hm08 head (dm): an arch above each eye from |x| = `BROW_X[0]`
#: (inner end) to `BROW_X[1]` (outer end), centred near y = `BROW_Y`, on the front (z >= `BROW_Z`).
BROW_X = (0.10, 0.55)
BROW_Y = 7.45
BROW_Z = 0.8
#: Half the hair's height at the inner and outer end (dm), times `Appearance.brow_thickness`.
BROW_HALF_HEIGHT = (0.035, 0.014)


def brow_coordinates(rest: np.ndarray) -> np.ndarray:
    """(N, 2) float32 eyebrow coordinates of (N, 3) rest-pose vertices (dm): along the arch (0 at the inner
    end, 1 at the outer end) and across it (+-1 at the hair's edge at thickness 1; divide by the
    thickness). Vertices behind the face get a large `across`. Affine over a triangle, as the renderer's
    vertex shader computes them."""
    rest = np.asarray(rest, dtype=np.float64)
    t = (np.abs(rest[:, 0]) - BROW_X[0]) / (BROW_X[1] - BROW_X[0])
    centre = BROW_Y + 0.05 * np.sin(np.pi * 0.8 * t) - 0.02 * t
    half_height = BROW_HALF_HEIGHT[0] + (BROW_HALF_HEIGHT[1] - BROW_HALF_HEIGHT[0]) * t
    across = np.where(rest[:, 2] < BROW_Z, 1000.0, (rest[:, 1] - centre) / half_height)
    return np.stack([t, across], axis=1).astype(np.float32)
