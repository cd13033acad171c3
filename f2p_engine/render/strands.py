"""How hair, eyebrow and eyelash proxies look: the procedural strand texture, where it maps on each
proxy, and its colour and alpha per texel, in one place for the renderer's shader
(`render.renderer`) and the mesh export (`render.export`), so Blender shows hair as the studio does.

MakeHuman's own strand textures are not available (Git LFS pointers); ours are tiling streaks. Hair
strands radiate from the crown: its texture coordinates are the rest point's (azimuth, polar angle)
about `palette.HAIR_CROWN` (`crown_coordinates`); eyebrows and lashes use their proxy's UVs. Either is
scaled by the style's `strand_scale` (repeats of the tiling texture across and along the strands).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from f2p_engine.headmodel.proxies import Proxy, ProxyKind
from f2p_engine.render.palette import HAIR_CROWN
from f2p_engine.render.regions import EYEBROWS_LABEL, EYES_LABEL, HAIR_LABEL, HEAD

#: Strand shading: albedo times (SHADE[0] + SHADE[1] * strand), strand in [0, 1] from the texture.
STRAND_SHADE = (0.55, 0.9)
#: Alpha rises from the style's floor to 1 over this much of (strand + coverage - 0.5) (a smoothstep).
STRAND_EDGE = 0.6
#: Texels of the tiling strand texture along each side.
STRAND_TEXTURE_SIZE = 256


@dataclass(frozen=True, slots=True)
class ProxyStyle:
    """How one kind of proxy is drawn: its label, the texture repeats across and along the strands, the
    strand density (`coverage`: higher, fewer gaps between strands), the alpha between strands and
    whether strands radiate from the crown (else they follow the UVs)."""

    label: int
    strand_scale: tuple[float, float]
    coverage: float
    floor: float
    crown: bool


PROXY_STYLES: dict[ProxyKind, ProxyStyle] = {
    "hair": ProxyStyle(HAIR_LABEL, (90.0, 3.0), 0.62, 0.35, True),
    "eyebrows": ProxyStyle(EYEBROWS_LABEL, (14.0, 1.0), 0.55, 0.1, False),
    # The lash cards reach over the eye: only thin strokes, the iris shows between them.
    "eyelashes": ProxyStyle(EYES_LABEL, (30.0, 1.0), 0.3, 0.0, False),
    "glasses": ProxyStyle(HEAD, (0.0, 0.0), 2.0, 1.0, False)}  # solid: no strands


def strand_texture(size: int = STRAND_TEXTURE_SIZE, seed: int = 1, stretch: float = 24.0) -> np.ndarray:
    """(size, size) uint8 tiling streaks: white noise filtered in the Fourier domain with a spectrum
    `stretch` times narrower along y, so features are long along y (strands) and fine across them."""
    white = np.random.default_rng(seed).standard_normal((size, size))
    fy, fx = np.meshgrid(np.fft.fftfreq(size) * stretch, np.fft.rfftfreq(size), indexing="ij")
    frequency = np.sqrt(fx**2 + fy**2)
    field = np.fft.irfft2(np.fft.rfft2(white) / np.maximum(frequency, 1.0 / size), s=(size, size))
    field = (field - field.mean()) / field.std()
    return np.round(np.clip(0.5 + 0.22 * field, 0.0, 1.0) * 255).astype(np.uint8)


def crown_coordinates(points: np.ndarray) -> np.ndarray:
    """(N, 2) float32 hair texture coordinates of (N, 3) rest points (dm): azimuth about the vertical
    through `HAIR_CROWN` in turns (0 straight ahead, +-0.5 behind the head, where the texture wraps)
    and the polar angle from straight up in half turns."""
    d = np.asarray(points, np.float64) - np.asarray(HAIR_CROWN)
    polar = np.arccos(np.clip(d[:, 1] / np.linalg.norm(d, axis=1), -1.0, 1.0))
    return np.stack([np.arctan2(d[:, 0], d[:, 2]) / (2 * np.pi), polar / np.pi], axis=1).astype(np.float32)


def strand_coordinates(proxy: Proxy) -> np.ndarray:
    """(R, 2) float32 strand coordinates of the proxy's render vertices, before `strand_scale`: crown
    coordinates of the rest pose for hair, the proxy's UVs otherwise."""
    if PROXY_STYLES[proxy.kind].crown:
        return crown_coordinates(proxy.rest[proxy.render_vertex])
    return proxy.uvs.astype(np.float32)


def strand_alpha(strand: np.ndarray, style: ProxyStyle, opacity: float = 1.0) -> np.ndarray:
    """Alpha of strand values in [0, 1]: the proxy shader's, per texel. Between strands hair thins but never
    vanishes (what shows through is mostly more hair); lashes do."""
    t = np.clip((np.asarray(strand, np.float64) + style.coverage - 0.5) / STRAND_EDGE, 0.0, 1.0)
    return opacity * (style.floor + (1.0 - style.floor) * t * t * (3 - 2 * t))


def _srgb(linear: np.ndarray) -> np.ndarray:
    """uint8 sRGB codes of linear values in [0, 1] (what image files and glTF base colours hold)."""
    v = np.clip(linear, 0.0, 1.0)
    encoded = np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)
    return np.round(encoded * 255).astype(np.uint8)


def strand_rgba(kind: ProxyKind, albedo: tuple[float, float, float]) -> np.ndarray:
    """(S, S, 4) uint8 tiling texture of a proxy kind in `albedo` (linear RGB): the strands' shaded albedo
    as sRGB and their alpha, as the renderer's proxy shader computes them before lighting."""
    strand = strand_texture() / 255.0
    rgb = np.asarray(albedo)[None, None, :] * (STRAND_SHADE[0] + STRAND_SHADE[1] * strand[:, :, None])
    alpha = strand_alpha(strand, PROXY_STYLES[kind])
    return np.concatenate([_srgb(rgb), np.round(alpha * 255).astype(np.uint8)[:, :, None]], axis=2)


__all__ = ["PROXY_STYLES", "STRAND_EDGE", "STRAND_SHADE", "STRAND_TEXTURE_SIZE", "ProxyStyle", "crown_coordinates",
           "strand_alpha", "strand_coordinates", "strand_rgba", "strand_texture"]
