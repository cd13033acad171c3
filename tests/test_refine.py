"""Render-and-compare refinement (`infer.refine`) on a real render of a known recipe as the "photo"."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_engine.headmodel import schema
from f2p_engine.infer.refine import Refiner, face_sliders, prior_factor
from f2p_engine.recipe import Recipe
from f2p_engine.render.recipe_view import BACKGROUND
from f2p_engine.render.scene import Pose, appearance_of, face_camera
from f2p_engine.synth.sampler import recipe_at


@pytest.fixture(scope="module")
def refiner() -> Refiner:
    return Refiner(directions=8, iterations=2)


def _photo(refiner: Refiner, recipe: Recipe) -> tuple[np.ndarray, np.ndarray]:
    """A render of `recipe` turned a little, on the grey background: the 'photo' and its landmarks."""
    rendering = refiner.renderer.render(refiner.head.vertices(recipe.modifiers), face_camera(), pose=Pose(yaw=12, pitch=-5),
                                        appearance=appearance_of(recipe))
    return np.where(rendering.labels[:, :, None] > 0, rendering.image, np.uint8(BACKGROUND)), rendering.landmarks


def _sliders(recipe: Recipe) -> np.ndarray:
    return np.array([recipe.value(p.name) for p in face_sliders()])


def test_refinement_moves_a_perturbed_recipe_towards_the_photographed_one(refiner):
    truth = recipe_at(7, 3)
    image, landmarks = _photo(refiner, truth)
    # Start 2.5 prior sigmas away along the directions the refiner searches (clear of the slider limits).
    direction = refiner.subspace() @ np.random.default_rng(0).normal(size=refiner.directions)
    offset = refiner.factor @ (2.5 * direction / np.linalg.norm(direction))
    start = truth.with_values({p.name: p.clamp(truth.value(p.name) + o)
                               for p, o in zip(face_sliders(), offset, strict=True)})
    result = refiner.refine(start, image, landmarks)
    assert result.end < result.start
    assert result.descriptor_end < result.descriptor_start
    assert np.linalg.norm(_sliders(result.recipe) - _sliders(truth)) < 0.8 * np.linalg.norm(_sliders(start) - _sliders(truth))
    # Only face sliders move: the macro sliders and the choices stay as predicted.
    for p in schema.CONTINUOUS:
        if p.region == "macro":
            assert result.recipe.value(p.name) == start.value(p.name)
    assert result.recipe.choice("skin") == start.choice("skin")
    assert result.renders <= 1 + 2 * (refiner.directions + 3)


def test_refinement_never_ends_worse_than_it_starts(refiner):
    truth = recipe_at(7, 4)
    image, landmarks = _photo(refiner, truth)
    result = refiner.refine(truth, image, landmarks)  # already right: any accepted step must lower E
    assert result.end <= result.start


def test_prior_ties_a_left_slider_to_its_right_mirror():
    params = face_sliders()
    covariance = prior_factor(params) @ prior_factor(params).T
    index = {p.name: i for i, p in enumerate(params)}
    left = next(p for p in params if p.mirror and p.name.split("/")[1].startswith("l-"))
    i, j = index[left.name], index[left.mirror]
    assert covariance[i, j] / np.sqrt(covariance[i, i] * covariance[j, j]) > 0.98


def test_refinement_refuses_a_face_of_another_size(refiner):
    with pytest.raises(ValueError, match="renderer draws"):
        refiner.refine(Recipe(), np.zeros((128, 128, 3), np.uint8), np.zeros((68, 2)))
