"""Visible folds: hm08 vertices -> the skin triangles whose back a viewer sees (holes in the surface).

A fold is where sliders push one sheet of skin through another, so the inside of the head shows
(drawn dark, or culled to a hole) from a viewpoint an artist uses. Counting triangles whose normal
turned against the neutral head's is not it: a dozen to fifty of those lie harmlessly inside the
nostrils and eyelids of ordinary recipes, while the holes beside Grace Hopper's nostrils with a
narrow nose come from back faces that were always there, hidden, and become uncovered. So folds
are found by looking: the face is rasterised (offscreen GL, no culling, depth test) from the front
and both three-quarter views with each pixel holding its triangle id, signed by the side it shows.
Back faces that the neutral head shows too (the nostril openings seen from the front) are the
head's own and do not count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

import numpy as np

from f2p_engine.headmodel import schema
from f2p_engine.headmodel.asset import L_EYE, R_EYE, HeadAsset, default_asset
from f2p_engine.headmodel.mesh import HeadModel, face_target_weights, head_mesh
from f2p_engine.recipe import Recipe
from f2p_engine.render.renderer import standalone_context
from f2p_engine.render.scene import EYE_MIDPOINT, Pose, face_camera

#: Yaws (degrees) an artist looks from: the front and both three-quarter views.
FOLD_VIEWS: tuple[float, ...] = (0.0, 35.0, -35.0)
T = TypeVar("T")
#: Pixels of a fold image (square, 1.6 dm of face: 160 px per dm, finer than the studio's 3D view shows it).
FOLD_IMAGE_SIZE = 256
#: A fold must show at least this many pixels in one view (a single pixel is rasterisation noise).
MIN_FOLD_PIXELS = 2
#: A culprit moves the folded skin at least this share as far as the slider that moves it most.
CULPRIT_SHARE = 0.25
#: Halvings of the step toward the reference in `FoldFinder.fold_free` (precision 1/32 of the way).
BISECTIONS = 5
#: Rings of neighbouring triangles around a fold whose turning blames a slider.
NEIGHBOURHOOD_RINGS = 2
#: Rounds of culprits moved all the way before `FoldFinder.fold_free` moves every face slider.
MAX_ROUNDS = 3

_VERTEX = """
#version 330
uniform mat4 clip_from_model;
in vec3 in_position;
void main() { gl_Position = clip_from_model * vec4(in_position, 1.0); }
"""
_FRAGMENT = """
#version 330
out int triangle;  // 1 + triangle index, negative where the triangle shows its back
void main() { triangle = gl_FrontFacing ? gl_PrimitiveID + 1 : -(gl_PrimitiveID + 1); }
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Folds:
    """The visible folds of one head: `triangles` (sorted skin triangle indices into `head_mesh().triangles`)
    whose back shows in at least `MIN_FOLD_PIXELS` pixels of one of `FOLD_VIEWS`; `pixels` the largest
    such count in one view."""

    triangles: np.ndarray = field(repr=False)  # (K,) int64
    pixels: int

    def __bool__(self) -> bool:
        return len(self.triangles) > 0


class FoldFinder:
    """Finds visible folds of hm08 heads. Build once per thread (a GL context and the head model, ~0.35 s);
    each check rasterises the face in up to three views at `FOLD_IMAGE_SIZE` pixels. A view costs about
    as much as its 9644 triangles (~7 ms on a busy llvmpipe, whatever their pixels), so views, and the
    macro-only head's views, are rendered only as far as the answer needs them."""

    def __init__(self, asset: HeadAsset | None = None) -> None:
        self.asset = asset or default_asset()
        mesh = head_mesh(self.asset)
        self.mesh = mesh
        self.vertex_ids = mesh.vertex_ids
        self.head = HeadModel(self.asset, vertex_ids=mesh.vertex_ids)
        self._ctx = ctx = standalone_context()
        self._program = ctx.program(vertex_shader=_VERTEX, fragment_shader=_FRAGMENT)
        self._positions = ctx.buffer(reserve=len(mesh.vertex_ids) * 12)
        self._index = ctx.buffer(mesh.triangles.astype(np.int32).tobytes())
        self._vao = ctx.vertex_array(self._program, [(self._positions, "3f", "in_position")],
                                     index_buffer=self._index, index_element_size=4)
        size = FOLD_IMAGE_SIZE
        self._ids = ctx.renderbuffer((size, size), 1, dtype="i4")
        self._fbo = ctx.framebuffer([self._ids], ctx.depth_renderbuffer((size, size)))
        camera = face_camera(fov=20.0, width=1.6, eye_height=0.3).view_projection()
        self._clip = [camera @ Pose(yaw=yaw).matrix() for yaw in FOLD_VIEWS]
        self._skin = mesh.part == 0
        self._own: dict[tuple[float, ...], _OwnBackFaces] = {}
        self._loaded: np.ndarray | None = None  # the vertices in `_positions`
        local = np.full(len(self.asset.base_coords), -1)
        local[mesh.vertex_ids] = np.arange(len(mesh.vertex_ids))
        self._eyes = [local[lo:hi] for lo, hi in (L_EYE, R_EYE)]

    @cached_property
    def _face_targets(self) -> _TargetTable:
        """Every face target file's rows in one table, for `culprits` (built when first blaming a fold)."""
        files = schema.target_files(schema.face_modifiers())
        rows = [self.asset.targets.rows(name) for name in files]
        return _TargetTable(position={name: i for i, name in enumerate(files)},
                            vertex=np.concatenate([index for index, _ in rows]),
                            offset=np.concatenate([offsets for _, offsets in rows]),
                            file=np.repeat(np.arange(len(files)), [len(index) for index, _ in rows]))

    def _own_back_faces(self, recipe: Recipe, view: int) -> np.ndarray:
        """(T,) bool: triangles whose back the head of `recipe`'s macro sliders alone (no face slider)
        shows in view `view`: the body's own openings, not a fold any face slider made."""
        key = tuple(round(recipe.modifiers.get(n, 0.0), 6) for n in schema.MACRO_MODIFIERS)
        own = self._own.get(key)
        if own is None:
            face = set(schema.face_modifiers())
            macro_only = {n: v for n, v in recipe.modifiers.items() if n not in face}
            if len(self._own) >= 8:  # the app's macro sliders move rarely; batch recipes each have their own
                self._own.pop(next(iter(self._own)))
            own = self._own[key] = _OwnBackFaces(vertices=self.head.vertices(macro_only))
        if view not in own.views:
            ids = self._shown(own.vertices, view)
            own.views[view] = np.isin(np.arange(len(self._skin)), -ids[ids < 0] - 1)
        return own.views[view]

    def _shown(self, vertices: np.ndarray, view: int) -> np.ndarray:
        """The (S * S,) int32 id image of the rendered `vertices` ((len(vertex_ids), 3) dm) in `FOLD_VIEWS[view]`."""
        if vertices is not self._loaded:
            # Eyes to where the cameras expect them (bodies carry the head at different heights).
            eyes = np.mean([vertices[ids].mean(axis=0) for ids in self._eyes], axis=0)
            self._positions.write(np.ascontiguousarray(vertices + (EYE_MIDPOINT - eyes), dtype=np.float32).tobytes())
            self._loaded = vertices
        self._fbo.use()
        self._ctx.enable(self._ctx.DEPTH_TEST)
        self._ctx.disable(self._ctx.CULL_FACE)
        self._fbo.clear(depth=1.0)
        self._program["clip_from_model"].write(self._clip[view].T.astype(np.float32).tobytes())
        self._vao.render(self._ctx.TRIANGLES)
        return np.frombuffer(self._fbo.read(components=1, dtype="i4"), dtype=np.int32)

    def _fold_pixels(self, recipe: Recipe, vertices: np.ndarray, view: int) -> np.ndarray:
        """Triangle index per pixel where view `view` of `vertices` (`recipe`'s head) shows the back of
        skin that the macro sliders alone keep covered: the fold's pixels, unless fewer than `MIN_FOLD_PIXELS`."""
        ids = self._shown(vertices, view)
        back = -ids[ids < 0] - 1
        back = back[self._skin[back]]
        if len(back) < MIN_FOLD_PIXELS:  # too few to be a fold even before the head's own openings go
            return back
        return back[~self._own_back_faces(recipe, view)[back]]

    def folds(self, recipe: Recipe) -> Folds:
        """Visible folds of a recipe's head."""
        vertices = self.head.vertices(recipe.modifiers)
        found: list[np.ndarray] = []
        most = 0
        for view in range(len(FOLD_VIEWS)):
            back = self._fold_pixels(recipe, vertices, view)
            if len(back) >= MIN_FOLD_PIXELS:
                found.append(back)
                most = max(most, len(back))
        triangles = np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
        return Folds(triangles=triangles.astype(np.int64), pixels=most)

    def has_folds(self, recipe: Recipe) -> bool:
        """`bool(self.folds(recipe))`, looking no further than the first view that shows a fold."""
        vertices = self.head.vertices(recipe.modifiers)
        return any(len(self._fold_pixels(recipe, vertices, view)) >= MIN_FOLD_PIXELS for view in range(len(FOLD_VIEWS)))

    def culprits(self, recipe: Recipe, folds: Folds, reference: Recipe | None = None) -> tuple[str, ...]:
        """The face sliders whose move away from `reference` (default: the schema defaults) turns the
        folded triangles and the skin around them most, largest first; only those turning them at least
        `CULPRIT_SHARE` as much as the first (a slider that carries the fold along without bending it is
        not to blame)."""
        if not folds:
            return ()
        # The fold and the skin around it: what uncovers a back face is the skin that hid it turning.
        near = folds.triangles
        for _ in range(NEIGHBOURHOOD_RINGS):
            near = np.flatnonzero(np.isin(self.mesh.triangles, self.mesh.triangles[near]).any(axis=1) & self._skin)
        corners = self.mesh.triangles[near].ravel()  # (3K,) local vertex indices
        positions = self.head.vertices(recipe.modifiers)[corners].astype(np.float64)
        normals = _unit_normals(positions.reshape(-1, 3, 3))
        # Each target file's offsets at the corners it moves: (targets touched, corner vertices, 3) dm.
        table = self._face_targets
        vertices, corner_vertex = np.unique(self.vertex_ids[corners], return_inverse=True)
        where = np.full(len(self.asset.base_coords), -1)
        where[vertices] = np.arange(len(vertices))
        entry = np.flatnonzero(where[table.vertex] >= 0)
        touched, target = np.unique(table.file[entry], return_inverse=True)
        offsets = np.zeros((len(touched), len(vertices), 3))
        offsets[target, where[table.vertex[entry]]] = table.offset[entry]
        # Each moved slider's change of those files' weights, (sliders, targets touched).
        names, change = [], []
        column = {int(t): i for i, t in enumerate(touched)}
        for name in schema.face_modifiers():
            value, old = recipe.value(name), _reference_value(name, reference)
            if value == old:
                continue
            now, then = face_target_weights([(name, value)]), face_target_weights([(name, old)])
            row = np.zeros(len(touched))
            for file in now.keys() | then.keys():
                if table.position[file] in column:
                    row[column[table.position[file]]] = now.get(file, 0.0) - then.get(file, 0.0)
            if row.any():  # a slider that moves no folded corner turns nothing
                names.append(name)
                change.append(row)
        if not names:
            return ()
        # The folded corners with each slider in turn at its reference value.
        back = positions - np.einsum("st,tvc->svc", np.asarray(change), offsets)[:, corner_vertex]
        turned = np.linalg.norm(_unit_normals(back.reshape(len(names), -1, 3, 3)) - normals, axis=-1).sum(axis=1)
        most = turned.max()
        return tuple(names[i] for i in np.argsort(-turned, kind="stable") if 0 < turned[i] >= CULPRIT_SHARE * most)

    def fold_free(self, recipe: Recipe, reference: Recipe | None = None, keep: Iterable[str] = ()) -> Unfolded:
        """A nearby recipe without visible folds: the culprit sliders move together in a straight line
        toward `reference` (default: the schema defaults), by the smallest fraction (to 1/2**`BISECTIONS`)
        that leaves no visible fold. When the culprits at the reference still fold, they stay there and
        the culprits of what is left move next (`MAX_ROUNDS` rounds); then every face slider. When even
        that folds (the macro sliders fold the skin alone) the recipe comes back unchanged. Sliders in
        `keep` (the one an artist just set) never move."""
        kept = frozenset(keep)
        folds = self.folds(recipe)
        folds_pixels = folds.pixels
        if not folds:
            return Unfolded(recipe=recipe, moved=(), folds_before=0)
        current, moved = recipe, ()
        for round_ in range(MAX_ROUNDS + 1):
            group = self.culprits(current, folds, reference) if round_ < MAX_ROUNDS else ()
            group = tuple(n for n in group if n not in kept) or tuple(
                n for n in schema.face_modifiers()
                if n not in kept and current.value(n) != _reference_value(n, reference))
            if not group:
                break
            moved = moved + tuple(n for n in group if n not in moved)
            end = _toward(current, group, reference, 1.0)
            folds = self.folds(end)
            if folds:
                current = end
                continue
            low, high = 0.0, 1.0  # folds at low, fold-free at high
            for _ in range(BISECTIONS):
                middle = (low + high) / 2
                folded = self.has_folds(_toward(current, group, reference, middle))
                low, high = (middle, high) if folded else (low, middle)
            return Unfolded(recipe=_toward(current, group, reference, high), moved=moved, folds_before=folds_pixels)
        return Unfolded(recipe=recipe, moved=(), folds_before=folds_pixels)

    def draw_once(self) -> None:
        """Draw the default head in the front view: Mesa compiles the shaders at the first draw, so the
        first check after this costs what any check does (a whole check here costs ~12 ms more)."""
        self._shown(self.head.vertices(Recipe().modifiers), 0)

    def release(self) -> None:
        self._ctx.release()


@dataclass(frozen=True, slots=True, kw_only=True)
class _TargetTable:
    """The rows of several target files in one table: entry i moves hm08 vertex `vertex[i]` by `offset[i]`
    (dm, float64) at full weight and belongs to file `file[i]`; `position`: file name -> file index."""

    position: dict[str, int]
    vertex: np.ndarray = field(repr=False)  # (E,) int64
    offset: np.ndarray = field(repr=False)  # (E, 3) float64
    file: np.ndarray = field(repr=False)  # (E,) int64


@dataclass(frozen=True, slots=True)
class _OwnBackFaces:
    """One macro head's own back faces, per view index, rendered when first asked for (most checks
    find no back face to excuse): `vertices` the head's (len(vertex_ids), 3) vertices."""

    vertices: np.ndarray
    views: dict[int, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Unfolded:
    """`FoldFinder.fold_free`'s answer: the fold-free `recipe`, the sliders `moved` to get there (none
    when the input had no visible fold) and the largest fold in pixels of one view before."""

    recipe: Recipe
    moved: tuple[str, ...]
    folds_before: int


def _unit_normals(corners: np.ndarray) -> np.ndarray:
    """(..., K, 3) unit normals of (..., K, 3, 3) triangle corners (counter-clockwise seen from outside)."""
    normal = np.cross(corners[..., 1, :] - corners[..., 0, :], corners[..., 2, :] - corners[..., 0, :])
    return normal / np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-12)


def _toward(recipe: Recipe, sliders: tuple[str, ...], reference: Recipe | None, fraction: float) -> Recipe:
    """`recipe` with `sliders` moved `fraction` of the way to their reference values (six decimals, as
    MakeHuman writes them)."""
    values = {n: recipe.value(n) for n in sliders}
    return recipe.with_values({n: round(v + fraction * (_reference_value(n, reference) - v), 6)
                               for n, v in values.items()})


def _reference_value(name: str, reference: Recipe | None) -> float:
    return schema.continuous_by_name()[name].default if reference is None else reference.value(name)


# The process's one FoldFinder lives on one thread: its GL context belongs to the thread that made it,
# and building it (~0.2 s) once per process, not per worker thread, keeps predictions fast.
_fold_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="f2p-folds")
_finder: FoldFinder | None = None


def _owned_finder() -> FoldFinder:
    global _finder
    if _finder is None:
        _finder = FoldFinder()
    return _finder


def on_fold_thread(work: Callable[[FoldFinder], T]) -> Future[T]:
    """Run `work(finder)` with the process's FoldFinder on the thread that owns it (built on first use)."""
    return _fold_thread.submit(lambda: work(_owned_finder()))


def warm_up() -> None:
    """Build the process's FoldFinder in the background now and draw once (the first prediction then need not)."""
    on_fold_thread(lambda finder: finder.draw_once())
