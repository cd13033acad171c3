"""Procedural glasses: a frame (two rims, a bridge, two temples) and two lenses, as proxies of the head.

The geometry is built in the rest pose (decimetres, Y up) in front of the eyes and attached to the
head as MakeHuman attaches a proxy (`headmodel.proxies.Proxy`): every vertex rides on the same three
hm08 vertices (both eyeballs' front and the nose bridge) with its own offset, scaled per axis by the
head's size, so the glasses move and scale with the face but stay rigid.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from f2p_engine.headmodel.asset import L_EYE, R_EYE, HeadAsset
from f2p_engine.headmodel.proxies import Proxy

#: Rim centre |x|, y (dm), the frame plane's z at the middle and how fast it bends back (z -= k x^2).
_RIM_X, _RIM_Y, _FRAME_Z, _BEND = 0.31, 7.30, 1.64, 0.35
_RIM_WIDTH = 0.022
_SEGMENTS = 32
#: Temples end here (|x|, z): past the temples of the head, towards the ears.
_TEMPLE_END = (0.70, 0.35)
#: Per-axis scale references (hm08 vertex pairs along x, y, z), as MakeHuman's system hair uses.
_SCALE_REFS = np.array([[5399, 11998], [791, 881], [962, 5320]])
_BRIDGE_VERTEX = 136  # the nose bridge (landmark 27)


@dataclass(frozen=True, slots=True)
class GlassesShape:
    """Half-width and half-height of each lens (dm)."""

    half_width: float
    half_height: float


GLASSES_SHAPES: tuple[GlassesShape, ...] = (GlassesShape(0.21, 0.19), GlassesShape(0.26, 0.16),
                                           GlassesShape(0.29, 0.22))


def _z(x: np.ndarray) -> np.ndarray:
    return _FRAME_Z - _BEND * x**2


def _ellipse(centre_x: float, rx: float, ry: float) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, _SEGMENTS, endpoint=False)
    x = centre_x + rx * np.cos(angles)
    return np.stack([x, _RIM_Y + ry * np.sin(angles), _z(x)], axis=1)


def _strip(first: np.ndarray, second: np.ndarray, closed: bool) -> np.ndarray:
    """Triangles (as vertex index pairs of two rows) joining two rows of n points each."""
    n = len(first)
    i = np.arange(n if closed else n - 1)
    j = (i + 1) % n
    return np.concatenate([np.stack([i, j, n + j], 1), np.stack([i, n + j, n + i], 1)])


def _bar(start: np.ndarray, end: np.ndarray, thickness: float) -> tuple[np.ndarray, np.ndarray]:
    """A flat bar from start to end, `thickness` tall: (4, 3) points and (2, 3) triangles."""
    up = np.array([0.0, thickness / 2, 0.0])
    points = np.stack([start - up, end - up, end + up, start + up])
    return points, np.array([[0, 1, 2], [0, 2, 3]])


def _proxy(points: np.ndarray, triangles: np.ndarray, asset: HeadAsset) -> Proxy:
    base = asset.base_coords.astype(np.float64)
    front = [int(lo + np.argmax(base[lo:hi, 2])) for lo, hi in (L_EYE, R_EYE)]
    refs = np.array([front[0], front[1], _BRIDGE_VERTEX])
    anchor = base[refs].mean(axis=0)
    axes = np.arange(3)
    lengths = np.abs(base[_SCALE_REFS[:, 0], axes] - base[_SCALE_REFS[:, 1], axes])
    count = len(points)
    return Proxy(kind="glasses", name="glasses", uuid="", z_depth=0, refs=np.tile(refs, (count, 1)),
                 weights=np.full((count, 3), 1 / 3, np.float32), offsets=(points - anchor).astype(np.float32),
                 scale_refs=_SCALE_REFS, scale_lengths=lengths.astype(np.float32), rest=points.astype(np.float32),
                 render_vertex=np.arange(count), uvs=np.zeros((count, 2), np.float32),
                 triangles=triangles.astype(np.intp))


@cache
def glasses_proxies(shape: GlassesShape, asset: HeadAsset) -> tuple[Proxy, Proxy]:
    """(frame, lenses) of glasses of `shape`, attached to `asset`'s head."""
    points, triangles, lens_points, lens_triangles = [], [], [], []

    def add(target_points: list, target_triangles: list, new_points: np.ndarray, new_triangles: np.ndarray) -> None:
        offset = sum(len(p) for p in target_points)
        target_points.append(new_points)
        target_triangles.append(new_triangles + offset)

    rx, ry = shape.half_width, shape.half_height
    for side in (1.0, -1.0):
        centre = side * _RIM_X
        outer, inner = _ellipse(centre, rx, ry), _ellipse(centre, rx - _RIM_WIDTH, ry - _RIM_WIDTH)
        add(points, triangles, np.concatenate([outer, inner]), _strip(outer, inner, closed=True))
        middle = np.array([[centre, _RIM_Y, float(_z(np.array(centre)))]])
        ring = np.arange(_SEGMENTS)
        fan = np.stack([np.zeros(_SEGMENTS, int), 1 + ring, 1 + (ring + 1) % _SEGMENTS], 1)
        add(lens_points, lens_triangles, np.concatenate([middle, inner + np.array([0.0, 0.0, 0.004])]), fan)
        hinge = np.array([side * (_RIM_X + rx), _RIM_Y + 0.4 * ry, float(_z(np.array(_RIM_X + rx)))])
        add(points, triangles, *_bar(hinge, np.array([side * _TEMPLE_END[0], hinge[1], _TEMPLE_END[1]]), 0.03))
    inner_edge = _RIM_X - rx + _RIM_WIDTH / 2
    bridge_y = _RIM_Y + 0.45 * ry
    bridge = [np.array([x, bridge_y, _FRAME_Z]) for x in (-inner_edge, inner_edge)]
    add(points, triangles, *_bar(*bridge, 0.025))
    frame = _proxy(np.concatenate(points), np.concatenate(triangles), asset)
    lenses = _proxy(np.concatenate(lens_points), np.concatenate(lens_triangles), asset)
    return frame, lenses
