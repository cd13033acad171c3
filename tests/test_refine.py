"""Render-and-compare refinement (`infer.refine`) on a real render of a known recipe as the "photo"."""

from __future__ import annotations

import json

import numpy as np
import pytest

from f2p_engine.cli import main
from f2p_engine.files import resources_dir
from f2p_engine.headmodel import schema
from f2p_engine.infer.refine import Refiner, face_sliders, prior_factor
from f2p_engine.recipe import Recipe, read_recipe
from f2p_engine.render.recipe_view import BACKGROUND
from f2p_engine.render.scene import Pose, appearance_of, face_camera
from f2p_engine.synth.sampler import recipe_at

SAMPLE = resources_dir() / "samples" / "synthetic_face.png"


@pytest.fixture(scope="module")
def refiner() -> Refiner:
    return Refiner(directions=8, iterations=2)


def _photo(refiner: Refiner, recipe: Recipe) -> tuple[np.ndarray, np.ndarray]:
    """A render of `recipe` turned a little, on the grey background: the 'photo' and its landmarks."""
    rendering = refiner.renderer.render(refiner.head.vertices(recipe.modifiers), face_camera(),
                                        pose=Pose(yaw=12, pitch=-5), appearance=appearance_of(recipe))
    return np.where(rendering.labels[:, :, None] > 0, rendering.image, np.uint8(BACKGROUND)), rendering.landmarks


def _sliders(recipe: Recipe) -> np.ndarray:
    return np.array([recipe.value(p.name) for p in face_sliders()])


def test_refinement_moves_a_perturbed_recipe_towards_the_photographed_one(refiner):
    # Without hair: hair hides the forehead and the search then recovers less (with this budget).
    truth = recipe_at(7, 3).with_choice("hair", schema.NO_HAIR)
    image, landmarks = _photo(refiner, truth)
    # Start 1.5 prior sigmas away along the directions the refiner searches.
    direction = refiner.subspace() @ np.random.default_rng(3).normal(size=refiner.directions)
    offset = refiner.factor @ (1.5 * direction / np.linalg.norm(direction))
    start = truth.with_values({p.name: p.clamp(truth.value(p.name) + o)
                               for p, o in zip(face_sliders(), offset, strict=True)})
    result = refiner.refine(start, image, landmarks)
    assert result.end < result.start
    assert result.descriptor_end < result.descriptor_start
    # The slider error in prior sigmas shrinks, modestly (the prior holds it near the start: 1.5 -> ~1.40).
    whiten = np.linalg.inv(refiner.factor)
    before = np.linalg.norm(whiten @ (_sliders(start) - _sliders(truth)))
    assert np.linalg.norm(whiten @ (_sliders(result.recipe) - _sliders(truth))) < 0.97 * before
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


def test_predict_refine_moves_only_the_face_sliders(tmp_path):
    plain, refined, report = tmp_path / "plain.mhm", tmp_path / "refined.mhm", tmp_path / "refined.json"
    assert main(["predict", str(SAMPLE), "-o", str(plain)]) == 0
    assert main(["predict", str(SAMPLE), "-o", str(refined), "--json", str(report), "--refine"]) == 0
    before, after = read_recipe(plain).recipe, read_recipe(refined).recipe
    assert any(after.value(p.name) != before.value(p.name) for p in face_sliders())
    assert all(after.value(p.name) == before.value(p.name) for p in schema.CONTINUOUS if p.region == "macro")
    assert "refine" in json.loads(report.read_text())["timings_ms"]


def test_predict_refine_does_not_combine_with_fuse(tmp_path):
    assert main(["predict", str(SAMPLE), str(SAMPLE), "--fuse", "--refine", "-o", str(tmp_path / "x.mhm")]) != 0
    assert not (tmp_path / "x.mhm").exists()
