"""Render-and-compare refinement: a photo's face + a predicted recipe -> face sliders closer to the photo.

Opt-in (`f2p predict --refine`, the studio's "Refine likeness"). The face sliders (every non-macro
slider; Gender, Age, ethnicity, skin and eyes stay as the ensemble and the macro member gave them)
are searched to lower

    E(x) = cosine distance(descriptor(photo), descriptor(render(x)))
         + LANDMARK_WEIGHT * mean over the 68 points of |render point - photo point|^2 / eye distance^2
         + PRIOR_WEIGHT * |z|^2,   x = x0 + L z,

where the descriptor is the product's identity descriptor (`face.identity`), `render(x)` draws the
recipe's head at the photo's estimated head pose (`face.pose.estimate_pose`) with the recipe's
appearance, moved and scaled onto the photo's face (a least-squares similarity of the inner
landmarks), and z are the sliders' offsets from the prediction x0 whitened by the training prior
(`synth.sampler`: sigma per slider, a left slider tied to its right mirror), so the prior keeps the
sliders near the prediction in units of how much faces vary.

The search is damped Gauss-Newton in a subspace: the `directions` whitened directions that move the
face's vertices most (SVD of the mesh's slider Jacobian, computed without rendering), a
finite-difference Jacobian of the residuals (descriptor, landmarks) along them (one render each),
then a step tried at full, half and quarter length on the true objective, kept only if E drops.
The whole refinement never ends worse than it started by E.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from f2p_engine.face.identity import face_descriptor
from f2p_engine.face.pose import INNER_POINTS, estimate_pose
from f2p_engine.headmodel import schema
from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.recipe import Recipe
from f2p_engine.render.landmarks import MESH_LANDMARKS
from f2p_engine.render.recipe_view import BACKGROUND
from f2p_engine.render.renderer import Renderer
from f2p_engine.render.scene import Pose, appearance_of, face_camera
from f2p_engine.synth.sampler import HEAD_SHAPE_MODIFIERS, MIRROR_SIGMA, SLIDER_SIGMA

if TYPE_CHECKING:
    from f2p_engine.infer.pipeline import Prediction

#: Weight of the landmark term (squared distances in eye distances; a 5 % miss per point costs 0.01).
LANDMARK_WEIGHT = 4.0
#: Weight of the prior per whitened unit squared (3 sigma along one direction costs 0.018).
PRIOR_WEIGHT = 0.002
#: Finite-difference step along a whitened direction (prior sigmas).
STEP = 0.5
#: Prior sigma of a head shape (0 with p 0.85, else U(0.1, 0.9): sd of that mixture ~0.2).
HEAD_SHAPE_SIGMA = 0.2
#: Field of view of the renders and of the pose fit (degrees), as `face.pose` assumes for photos.
FOV = 20.0
#: Jaw points weigh less in the landmark term: photos' jaw points slide along the silhouette.
JAW_WEIGHT = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Refinement:
    """`recipe`: the refined recipe; `start`/`end`: the objective E before/after; `descriptor_start`/
    `descriptor_end`: its cosine-distance term; `renders`: how many renders it took; `seconds`: wall time;
    `pose`: the photo's estimated head pose the renders used."""

    recipe: Recipe
    start: float
    end: float
    descriptor_start: float
    descriptor_end: float
    renders: int
    seconds: float
    pose: Pose = field(repr=False)


def face_sliders() -> list[schema.ContinuousParam]:
    """The sliders refinement moves: every non-macro slider, in schema order."""
    return [p for p in schema.CONTINUOUS if p.region != "macro"]


def prior_factor(params: list[schema.ContinuousParam]) -> np.ndarray:
    """(n, n) L with L L^T the training prior's covariance of `params` (sampler's distribution): sigma per
    slider, a left slider equal to its right mirror plus N(0, MIRROR_SIGMA)."""
    index = {p.name: i for i, p in enumerate(params)}
    factor = np.zeros((len(params), len(params)))
    for i, p in enumerate(params):
        mirror = index.get(p.mirror) if p.mirror else None
        if p.name in HEAD_SHAPE_MODIFIERS:
            factor[i, i] = HEAD_SHAPE_SIGMA
        elif mirror is not None and p.name.split("/")[1].startswith("l-"):
            factor[i, mirror] = SLIDER_SIGMA  # the left follows its right ...
            factor[i, i] = MIRROR_SIGMA  # ... plus its own small jitter
        else:
            factor[i, i] = SLIDER_SIGMA
    return factor


def _similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(2, 3) least-squares similarity (scale, rotation, shift) taking (N, 2) `source` onto `target`."""
    ms, mt = source.mean(axis=0), target.mean(axis=0)
    s, t = source - ms, target - mt
    a = float(np.sum(s * t)) / float(np.sum(s * s))
    b = float(np.sum(s[:, 0] * t[:, 1] - s[:, 1] * t[:, 0])) / float(np.sum(s * s))
    rotation = np.array([[a, -b], [b, a]])
    return np.hstack([rotation, (mt - rotation @ ms)[:, None]])


class Refiner:
    """Refines recipes against photos with one renderer and head model (create once per process)."""

    def __init__(self, renderer: Renderer | None = None, head: HeadModel | None = None, *,
                 directions: int = 16, iterations: int = 3, prior_weight: float = PRIOR_WEIGHT,
                 landmark_weight: float = LANDMARK_WEIGHT) -> None:
        self.renderer = renderer or Renderer(256)
        self.head = head or HeadModel(vertex_ids=self.renderer.vertex_ids)
        self.directions = directions
        self.iterations = iterations
        self.prior_weight = prior_weight
        self.landmark_weight = landmark_weight
        self.params = face_sliders()
        self.factor = prior_factor(self.params)
        self.camera = face_camera(fov=FOV)
        # Rows of the vertices the face sliders move (the mesh Jacobian's support).
        moved = np.isin(self.head.vertex_ids, self.head.face_vertices)
        self._moved = np.flatnonzero(moved)
        self._subspace: np.ndarray | None = None
        self._landmark_weights = np.where(np.arange(68) < 17, JAW_WEIGHT, 1.0)

    def _values(self, recipe: Recipe) -> np.ndarray:
        return np.array([recipe.value(p.name) for p in self.params])

    def _recipe(self, recipe: Recipe, values: np.ndarray) -> Recipe:
        clamped = [p.clamp(float(v)) for p, v in zip(self.params, values, strict=True)]
        return recipe.with_values({p.name: round(v, 6) for p, v in zip(self.params, clamped, strict=True)})

    def subspace(self) -> np.ndarray:
        """(n, k) whitened directions that move the face's vertices most (central differences of the mesh
        along each whitened prior axis about the neutral face, then an SVD). Face targets add to the macro
        shape, so one basis serves every recipe; computed once (~0.8 s)."""
        if self._subspace is None:
            neutral = Recipe(name="neutral")
            x0 = self._values(neutral)
            columns = []
            for j in range(len(self.params)):
                step = self.factor[:, j] * STEP
                plus = self.head.vertices(self._recipe(neutral, x0 + step).modifiers)[self._moved]
                minus = self.head.vertices(self._recipe(neutral, x0 - step).modifiers)[self._moved]
                columns.append(((plus - minus) / (2 * STEP)).ravel())
            _, _, vt = np.linalg.svd(np.stack(columns, axis=1), full_matrices=False)
            self._subspace = vt[: self.directions].T
        return self._subspace

    def residuals(self, recipe: Recipe, photo_unit: np.ndarray, photo_landmarks: np.ndarray, pose: Pose,
                  eye_distance: float) -> tuple[np.ndarray, np.ndarray]:
        """(descriptor residual (128,), weighted landmark residual (136,)) of `recipe`'s render, scaled so
        their squared norms are the objective's descriptor and landmark terms."""
        target = photo_landmarks[list(INNER_POINTS)]
        rendering = self.renderer.render(
            self.head.vertices(recipe.modifiers), self.camera, pose=pose, appearance=appearance_of(recipe),
            frame=lambda plain: _similarity(plain[list(INNER_POINTS)], target))
        pixels = np.where(rendering.labels[:, :, None] > 0, rendering.image, np.uint8(BACKGROUND))
        descriptor = face_descriptor(pixels, rendering.landmarks).astype(np.float64)
        unit = descriptor / np.linalg.norm(descriptor)
        miss = (rendering.landmarks - photo_landmarks) / eye_distance * np.sqrt(self._landmark_weights)[:, None]
        # cosine distance = |u - v|^2 / 2 for unit vectors
        return (unit - photo_unit) / np.sqrt(2.0), miss.ravel() * np.sqrt(self.landmark_weight / 68.0)

    def refine(self, recipe: Recipe, image: np.ndarray, landmarks: np.ndarray) -> Refinement:
        """`recipe`'s face sliders refined against the face in `image` ((S, S, 3) uint8 RGB, ideally the
        aligned face before any adapter, S = the renderer's size) with (68, 2) pixel `landmarks`."""
        if image.shape[:2] != (self.renderer.size, self.renderer.size):
            raise ValueError(f"refine: the face is {image.shape[1]}x{image.shape[0]} px, the renderer draws "
                             f"{self.renderer.size}x{self.renderer.size}")
        began = time.perf_counter()
        photo_landmarks = np.asarray(landmarks, dtype=np.float64)
        photo = face_descriptor(image, photo_landmarks).astype(np.float64)
        photo_unit = photo / np.linalg.norm(photo)
        eye_distance = float(np.linalg.norm(photo_landmarks[36:42].mean(axis=0) - photo_landmarks[42:48].mean(axis=0)))
        x0 = self._values(recipe)
        vertices = self.head.vertices(recipe.modifiers)
        local = np.full(int(self.head.vertex_ids.max()) + 1, -1)
        local[self.head.vertex_ids] = np.arange(len(self.head.vertex_ids))
        pose = estimate_pose(photo_landmarks, vertices[local[list(MESH_LANDMARKS)]], self.renderer.size, fov=FOV).pose
        basis = self.factor @ self.subspace()  # slider offsets per unit of each direction
        renders = 0

        def evaluate(z: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            nonlocal renders
            renders += 1
            r_desc, r_marks = self.residuals(self._recipe(recipe, x0 + basis @ z), photo_unit, photo_landmarks,
                                             pose, eye_distance)
            residual = np.concatenate([r_desc, r_marks])
            return float(residual @ residual + self.prior_weight * z @ z), residual, r_desc

        z = np.zeros(basis.shape[1])
        energy, residual, r_desc = evaluate(z)
        start, descriptor_start, descriptor_now = energy, float(r_desc @ r_desc), float(r_desc @ r_desc)
        for _ in range(self.iterations):
            jacobian = np.empty((len(residual), len(z)))
            for k in range(len(z)):
                trial = z.copy()
                trial[k] += STEP
                jacobian[:, k] = (evaluate(trial)[1] - residual) / STEP
            # Damped Gauss-Newton on |r|^2 + PRIOR_WEIGHT |z|^2 (Levenberg damping on the normal matrix's diagonal).
            normal = jacobian.T @ jacobian + self.prior_weight * np.eye(len(z))
            normal += 0.1 * np.diag(np.diag(normal))
            step = -np.linalg.solve(normal, jacobian.T @ residual + self.prior_weight * z)
            for length in (1.0, 0.5, 0.25):
                trial = z + length * step
                trial_energy, trial_residual, trial_desc = evaluate(trial)
                if trial_energy < energy:
                    z, energy, residual = trial, trial_energy, trial_residual
                    descriptor_now = float(trial_desc @ trial_desc)
                    break
            else:
                break  # no step length lowers E: the subspace's minimum is as close as this search gets
        return Refinement(recipe=self._recipe(recipe, x0 + basis @ z), start=start, end=energy,
                          descriptor_start=descriptor_start, descriptor_end=descriptor_now, renders=renders,
                          seconds=time.perf_counter() - began, pose=pose)


@cache
def shared_refiner() -> Refiner:
    """This process's refiner (its renderer, head model and subspace are built on first use, ~1 s)."""
    return Refiner()


def refined_prediction(prediction: Prediction, image: np.ndarray, landmarks: np.ndarray,
                       refiner: Refiner | None = None) -> Prediction:
    """`prediction` with its face sliders refined against the aligned face `image` with `landmarks`
    (before any adapter: the real pixels); `continuous` follows the recipe and `timings` gains `refine`."""
    refinement = (refiner or shared_refiner()).refine(prediction.recipe, image, landmarks)
    recipe = refinement.recipe
    continuous = np.array([p.normalise(recipe.value(p.name)) for p in schema.CONTINUOUS])
    return replace(prediction, recipe=recipe, continuous=continuous,
                   timings={**prediction.timings, "refine": refinement.seconds})
