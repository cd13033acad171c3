"""Region labels of the head mesh, derived from where each region's MakeHuman targets move it.

For every local region (schema `LOCAL_REGIONS`) and every head-mesh vertex, the region's
*influence* is the largest displacement any of the region's target files gives the vertex,
each target scaled by its own peak displacement (so a target that moves the eye by 2 mm counts
as much as one moving the chin by 2 cm). A triangle belongs to the region whose mean influence
over its corners is largest, if that exceeds `THRESHOLD`; ties and overlaps are settled by that
argmax, and exact ties by `LOCAL_REGIONS` order (numpy's argmax takes the first). Eyeballs are
always "eyes". Everything else on the head is "head"; pixels not on the head are "background".

Also per-vertex paint weights used by the renderer: lips and beard shadow, derived the same way
from the lip-volume targets and the chin and mouth labels, and skin blotches (seeded noise
smoothed over the mesh: per vertex, it costs the renderer nothing per pixel).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from f2p_engine.headmodel import schema
from f2p_engine.headmodel.asset import HeadAsset, default_asset
from f2p_engine.headmodel.mesh import HeadMesh, head_mesh

#: Label ids of the label image: index in this tuple. Hair proxies get "hair"; eyebrow and eyelash
#: proxies the "eyebrows" and "eyes" regions they cover.
LABELS: tuple[str, ...] = ("background", "head", *schema.LOCAL_REGIONS, "hair")
BACKGROUND, HEAD = 0, 1
EYES_LABEL, EYEBROWS_LABEL, HAIR_LABEL = LABELS.index("eyes"), LABELS.index("eyebrows"), LABELS.index("hair")
#: Minimum influence (fraction of the region's peak) for a triangle to join a region.
THRESHOLD = 0.4
#: Display colours (sRGB) of the labels, for contact sheets and debugging.
LABEL_COLOURS = np.array([[0, 0, 0], [90, 90, 90], [40, 120, 255], [150, 60, 20], [255, 200, 0],
                          [230, 30, 60], [40, 200, 90], [255, 120, 200], [150, 90, 255], [120, 70, 30]], dtype=np.uint8)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionMap:
    """Per-triangle labels of `head_mesh()` and per-vertex paint weights (local vertex order).

    `triangle_labels`: (T,) uint8 ids into `LABELS`. `influence`: (N, len(LOCAL_REGIONS)) float32
    in [0, 1]. `lips`, `beard`, `blotches`: (N,) float32 in [0, 1].
    """

    triangle_labels: np.ndarray = field(repr=False)
    influence: np.ndarray = field(repr=False)
    lips: np.ndarray = field(repr=False)
    beard: np.ndarray = field(repr=False)
    blotches: np.ndarray = field(repr=False)


def _target_influence(asset: HeadAsset, names: list[str], vertex_ids: np.ndarray) -> np.ndarray:
    """(N,) sum over targets of |offset| / peak |offset|, on the mesh's vertices."""
    where = np.full(len(asset.base_coords), -1, dtype=np.int64)
    where[vertex_ids] = np.arange(len(vertex_ids))
    out = np.zeros(len(vertex_ids), dtype=np.float32)
    for name in names:
        index, offsets = asset.targets.rows(name)
        size = np.linalg.norm(offsets, axis=1)
        local = where[index]
        keep = (local >= 0) & (size > 0)
        if keep.any():
            out[local[keep]] += (size[keep] / size[keep].max()).astype(np.float32)
    return out


def _smooth(values: np.ndarray, triangles: np.ndarray, steps: int) -> np.ndarray:
    """Average each vertex with its triangle neighbours `steps` times (soft paint edges)."""
    count = np.bincount(triangles.ravel(), minlength=len(values)).astype(np.float32) * 2
    for _ in range(steps):
        total = np.zeros_like(values)
        for a, b in ((0, 1), (1, 2), (2, 0)):
            total += np.bincount(triangles[:, a], weights=values[triangles[:, b]], minlength=len(values))
            total += np.bincount(triangles[:, b], weights=values[triangles[:, a]], minlength=len(values))
        values = (0.5 * values + 0.5 * total / np.maximum(count, 1)).astype(np.float32)
    return values


@cache
def region_map(asset: HeadAsset | None = None) -> RegionMap:
    """Labels and paint weights of the default head mesh (computed once, deterministic)."""
    asset = asset or default_asset()
    mesh: HeadMesh = head_mesh(asset)
    targets = [schema.target_files(p.name for p in schema.params_in_region(r)) for r in schema.LOCAL_REGIONS]
    influence = np.stack([_target_influence(asset, names, mesh.vertex_ids) for names in targets], axis=1)
    influence /= influence.max(axis=0)
    per_triangle = influence[mesh.triangles].mean(axis=1)
    best = per_triangle.argmax(axis=1)
    labels = np.where(per_triangle.max(axis=1) >= THRESHOLD, best + 2, HEAD).astype(np.uint8)
    labels[mesh.part > 0] = LABELS.index("eyes")

    lips = _target_influence(asset, ["mouth/mouth-upperlip-volume-incr", "mouth/mouth-lowerlip-volume-incr"],
                             mesh.vertex_ids)
    lower_face = np.zeros(len(mesh.vertex_ids), dtype=np.float32)
    for region in ("chin", "mouth"):
        lower_face[np.unique(mesh.triangles[labels == LABELS.index(region)])] = 1.0
    return RegionMap(
        triangle_labels=labels, influence=influence,
        lips=_smooth(np.clip((lips - 0.35) / 0.4, 0, 1), mesh.triangles, 1),
        beard=_smooth(lower_face * (1 - np.clip(lips * 3, 0, 1)), mesh.triangles, 3),
        blotches=_normalised(_smooth(np.random.default_rng(0).random(len(lips), dtype=np.float32), mesh.triangles, 2)),
    )


def _normalised(values: np.ndarray) -> np.ndarray:
    return ((values - values.min()) / (values.max() - values.min())).astype(np.float32)
