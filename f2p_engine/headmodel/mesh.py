"""Mesh evaluation: ordered MakeHuman modifiers -> hm08 vertices (decimetres, Y up).

Base mesh + macro targets (MakeHuman's macro rule, see `macro`) + face modifier targets, all
additive, as MakeHuman 1.1 computes them. Targets are densified once at load into float32
matrices so one evaluation is two small matrix products (a few milliseconds), fast enough to
redraw on every slider step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from f2p_engine.headmodel import schema
from f2p_engine.headmodel.asset import BODY, L_EYE, R_EYE, TARGET_UNIT, HeadAsset, SparseTargets, default_asset
from f2p_engine.headmodel.macro import macro_target_weights, macro_targets
from f2p_engine.headmodel.threads import single_threaded_blas

#: Body vertices above this height (dm, base mesh) belong to the bust: head, neck and the top of the
#: shoulders, so no cut edge shows inside an aligned face frame.
HEAD_CUT_Y = 4.9
Modifiers = Mapping[str, float] | Iterable[tuple[str, float]]


@dataclass(frozen=True, slots=True, kw_only=True)
class HeadMesh:
    """A renderable/exportable head: triangles over a subset of hm08 vertices.

    `vertex_ids` maps local vertex i to hm08 vertex `vertex_ids[i]`; `triangles` index local
    vertices (counter-clockwise seen from outside); `part` per triangle: 0 skin, 1 left eye, 2 right eye.
    """

    vertex_ids: np.ndarray = field(repr=False)  # (N,) int64
    triangles: np.ndarray = field(repr=False)  # (T, 3) int32
    uvs: np.ndarray = field(repr=False)  # (N, 2) float32, per local vertex
    part: np.ndarray = field(repr=False)  # (T,) int8


def _dense(targets: SparseTargets, names: list[str], columns: np.ndarray) -> np.ndarray:
    """(len(names), len(columns)*3) float32: each target's offsets over the given vertices (offsets of
    other vertices are left out)."""
    where = np.full(max(int(targets.index.max(initial=0)), int(columns.max(initial=0))) + 1, -1, dtype=np.int64)
    where[columns] = np.arange(len(columns))
    out = np.zeros((len(names), len(columns), 3), dtype=np.float32)
    for row, name in enumerate(names):
        index, offsets = targets.rows(name)
        local = where[index]
        out[row, local[local >= 0]] = offsets[local >= 0]
    return out.reshape(len(names), -1)


@cache
def _face_modifier_set() -> frozenset[str]:
    return frozenset(schema.face_modifiers())


def face_target_weights(modifiers: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Weights of face target files: a value v drives `<min>` by -min(v, 0) and `<max>` by max(v, 0)."""
    known = _face_modifier_set()
    weights: dict[str, float] = {}
    for name, value in modifiers:
        if name not in known:
            continue
        low, high = schema.modifier_targets(name)
        if low is None:
            weights[high] = min(1.0, max(0.0, float(value)))
        else:
            v = min(1.0, max(-1.0, float(value)))
            weights[low] = -min(v, 0.0)
            weights[high] = max(0.0, v)
    return weights


def _pairs(modifiers: Modifiers) -> list[tuple[str, float]]:
    return list(modifiers.items()) if isinstance(modifiers, Mapping) else list(modifiers)


class HeadModel:
    """Evaluates hm08 vertices for MakeHuman modifiers. Build once (about 0.1 s), call often.

    With `vertex_ids` (hm08 indices), `vertices` returns only those rows, in that order, for
    less work per call (a renderer needs only the vertices it draws).
    """

    def __init__(self, asset: HeadAsset | None = None, vertex_ids: np.ndarray | None = None) -> None:
        self.asset = asset or default_asset()
        targets = self.asset.targets
        self.macro_names = macro_targets()
        self.face_names = schema.target_files(schema.face_modifiers())
        rows = np.arange(len(self.asset.base_coords)) if vertex_ids is None else np.asarray(vertex_ids, np.int64)
        self.vertex_ids = rows
        self._base = self.asset.base_coords[rows]
        self._macro = _dense(targets, self.macro_names, rows)
        face_index = np.concatenate([targets.rows(n)[0] for n in self.face_names])
        self.face_vertices = np.unique(face_index)
        # Output rows the face targets move, and those rows' hm08 indices.
        self._face_rows = np.flatnonzero(np.isin(rows, self.face_vertices))
        self._face = _dense(targets, self.face_names, rows[self._face_rows])
        self._macro_pos = {n: i for i, n in enumerate(self.macro_names)}
        self._face_pos = {n: i for i, n in enumerate(self.face_names)}
        self._local = np.full(len(self.asset.base_coords), -1, dtype=np.int64)
        self._local[rows] = np.arange(len(rows))
        # (macro weights, base + macro offsets) of the last evaluation: a slider drag moves one face
        # modifier, so the macro product (70% of the work) is the same from step to step.
        self._last_macro: tuple[np.ndarray, np.ndarray] | None = None

    def weight_vectors(self, modifiers: Modifiers) -> tuple[np.ndarray, np.ndarray]:
        """(macro file weights, face file weights) as float32 vectors in this model's row order."""
        pairs = _pairs(modifiers)
        macro = np.zeros(len(self.macro_names), dtype=np.float32)
        for name, w in macro_target_weights(pairs).items():
            macro[self._macro_pos[name]] = w
        face = np.zeros(len(self.face_names), dtype=np.float32)
        for name, w in face_target_weights(pairs).items():
            face[self._face_pos[name]] = w
        return macro, face

    @single_threaded_blas()  # small products: BLAS threads only wait for cores on a busy machine
    def vertices(self, modifiers: Modifiers) -> np.ndarray:
        """hm08 vertices, (19158, 3) float32 (or (len(vertex_ids), 3)), decimetres, Y up, for modifiers
        in file order."""
        macro, face = self.weight_vectors(modifiers)
        out = self._with_macro(macro)
        out[self._face_rows] += (face @ self._face).reshape(-1, 3)
        return out

    def _with_macro(self, macro: np.ndarray) -> np.ndarray:
        """Base vertices plus the macro targets at `macro` weights (a new array)."""
        last = self._last_macro  # read once: another thread may replace it
        if last is not None and np.array_equal(last[0], macro):
            return last[1].copy()
        # Whole products: gathering the rows of non-zero weights first copies more than it saves.
        out = self._base + (macro @ self._macro).reshape(-1, 3)
        self._last_macro = (macro, out.copy())
        return out

    def apply_expression(self, vertices: np.ndarray, units: Mapping[str, float]) -> np.ndarray:
        """Add CC0 face-unit expression targets (e.g. {"jawOpen": 0.3}) to vertices as this model's
        `vertices` returns them (all of hm08, or the `vertex_ids` subset); returns a copy."""
        expressions = self.asset.expressions
        out = vertices.copy()
        for name, weight in units.items():
            index, offsets = expressions.rows(name)
            local = self._local[index]
            kept = local >= 0
            np.add.at(out, local[kept], (offsets[kept] * weight).astype(out.dtype))
        return out


@cache
def head_mesh(asset: HeadAsset | None = None) -> HeadMesh:
    """The head-and-neck bust of hm08 plus both eyeballs, triangulated, with per-vertex UVs."""
    asset = asset or default_asset()
    base = asset.base_coords
    faces, face_uvs = asset.faces, asset.face_uvs
    body = (faces < BODY[1]).all(axis=1) & (base[faces][:, :, 1] > HEAD_CUT_Y).all(axis=1)
    parts = [body]
    for lo, hi in (L_EYE, R_EYE):
        parts.append(((faces >= lo) & (faces < hi)).all(axis=1))
    keep = np.zeros(len(faces), dtype=bool)
    part_of_face = np.zeros(len(faces), dtype=np.int8)
    for label, mask in enumerate(parts):
        keep |= mask
        part_of_face[mask] = label
    quads, quad_uvs, quad_part = faces[keep], face_uvs[keep], part_of_face[keep]
    vertex_ids, local = np.unique(quads, return_inverse=True)
    local = local.reshape(quads.shape)
    uvs = np.zeros((len(vertex_ids), 2), dtype=np.float32)
    uvs[local.ravel()] = asset.uvs[quad_uvs.ravel()]
    # hm08 quads are wound counter-clockwise seen from outside; split each along its 0-2 diagonal.
    triangles = np.concatenate([local[:, [0, 1, 2]], local[:, [0, 2, 3]]]).astype(np.int32)
    return HeadMesh(vertex_ids=vertex_ids.astype(np.int64), triangles=triangles, uvs=uvs,
                    part=np.concatenate([quad_part, quad_part]))


def default_modifiers() -> dict[str, float]:
    """Every macro modifier at its MakeHuman default, in MakeHuman's order (the neutral recipe)."""
    return {name: (1 / 3 if name in schema.ETHNIC_MODIFIERS else 0.5) for name in schema.MACRO_MODIFIERS}


__all__ = ["HEAD_CUT_Y", "TARGET_UNIT", "HeadMesh", "HeadModel", "default_modifiers",
           "face_target_weights", "head_mesh"]
