"""Burst combination: per-region confidence weighting of several predictions of one face."""

from dataclasses import replace

import numpy as np
import pytest

from f2p_engine.errors import InputError
from f2p_engine.face.attributes import FaceAttributes
from f2p_engine.headmodel import schema
from f2p_engine.infer.burst import combine_burst, region_weights, steadiest_frame
from f2p_engine.infer.pipeline import Prediction, photo_looks
from f2p_engine.recipe import recipe_from_parameters

ETHNIC = [i for i, p in enumerate(schema.CONTINUOUS) if p.name in schema.ETHNIC_MODIFIERS]
REGION_OF = np.array([p.region for p in schema.CONTINUOUS])


def _prediction(continuous: np.ndarray, confidence: dict[str, float], eye_colour: np.ndarray) -> Prediction:
    groups = schema.discrete_by_name()
    probabilities = {"eye_colour": eye_colour}
    choices = {"eye_colour": groups["eye_colour"].options[int(np.argmax(eye_colour))]}
    return Prediction(recipe=recipe_from_parameters(continuous, choices), continuous=continuous,
                      probabilities=probabilities, confidence=confidence, timings={"models": 0.01})


def _unit(rng: np.random.Generator) -> np.ndarray:
    values = rng.uniform(0.2, 0.8, len(schema.CONTINUOUS))
    values[ETHNIC] /= values[ETHNIC].sum()
    return values


def test_weights_follow_confidence_per_region():
    weights = region_weights([{"nose": 0.9, "eyes": 0.0}, {"nose": 0.3, "eyes": 0.0}])
    np.testing.assert_allclose(weights["nose"], [0.75, 0.25])
    np.testing.assert_allclose(weights["eyes"], [0.5, 0.5])  # nobody confident: plain mean
    np.testing.assert_allclose(weights["mouth"], [0.5, 0.5])  # not reported: counts as 1 each


def test_low_confidence_frame_counts_little_only_in_its_region():
    rng = np.random.default_rng(0)
    first, second = _unit(rng), _unit(rng)
    sure = dict.fromkeys(schema.REGIONS, 0.8)
    blinking = {**sure, "eyes": 0.2}
    brown, blue = np.eye(len(schema.EYE_COLOURS))[[0, 3]]
    combined = combine_burst([_prediction(first, sure, brown), _prediction(second, blinking, blue)])

    eyes, nose = REGION_OF == "eyes", REGION_OF == "nose"
    np.testing.assert_allclose(combined.continuous[eyes], 0.8 * first[eyes] + 0.2 * second[eyes])
    np.testing.assert_allclose(combined.continuous[nose], 0.5 * first[nose] + 0.5 * second[nose])
    assert combined.continuous[ETHNIC].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(combined.probabilities["eye_colour"], 0.8 * brown + 0.2 * blue)
    assert combined.recipe.choice("eye_colour") == schema.EYE_COLOURS[0]
    name = schema.CONTINUOUS[int(np.argmax(eyes))].name
    assert combined.recipe.value(name) == pytest.approx(
        schema.continuous_by_name()[name].denormalise(combined.continuous[eyes][0]))
    assert combined.confidence["eyes"] == pytest.approx(0.5)
    assert combined.timings["models"] == pytest.approx(0.02)


def test_burst_is_steadier_than_a_single_frame():
    """Frames = truth + noise whose size the confidence reflects: the burst beats the average frame."""
    rng = np.random.default_rng(1)
    truth = _unit(rng)
    frames, errors = [], []
    for _ in range(8):
        spread = rng.uniform(0.02, 0.3)
        estimate = np.clip(truth + rng.normal(0, spread, truth.shape), 0, 1)
        frames.append(_prediction(estimate, dict.fromkeys(schema.REGIONS, 1 - spread * 3), np.ones(6) / 6))
        errors.append(np.abs(estimate - truth).mean())
    combined_error = np.abs(combine_burst(frames).continuous - truth).mean()
    plain_mean_error = np.abs(np.mean([f.continuous for f in frames], axis=0) - truth).mean()
    assert combined_error < 0.6 * np.mean(errors)
    assert combined_error < plain_mean_error


def test_empty_burst_is_an_input_error():
    with pytest.raises(InputError, match="no frame"):
        combine_burst([])


def test_steadiest_frame_is_the_one_with_the_highest_mean_confidence():
    rng = np.random.default_rng(3)
    colour = np.eye(len(schema.EYE_COLOURS))[0]
    frames = [_prediction(_unit(rng), {"nose": nose, "eyes": eyes}, colour)
              for nose, eyes in [(0.9, 0.1), (0.6, 0.6), (0.2, 0.7)]]
    assert steadiest_frame(frames) == 1  # 0.6 on average beats 0.5 and 0.45
    assert steadiest_frame(frames[2:]) == 0
    with pytest.raises(InputError):
        steadiest_frame([])


def test_choices_made_without_probabilities_survive_the_burst():
    """Models trained before hair existed predict no hair probabilities; the prediction still chose a hair
    (by Gender), and combining frames must keep it (the studio showed every photo's head bald)."""
    rng = np.random.default_rng(3)
    eyes = np.eye(len(schema.discrete_by_name()["eye_colour"].options))[0]
    frames = []
    for hair in ("long01", "long01", "short02"):
        frame = _prediction(_unit(rng), {r: 0.5 for r in schema.REGIONS}, eyes)
        frames.append(Prediction(recipe=frame.recipe.with_choice("hair", hair), continuous=frame.continuous,
                                 probabilities=frame.probabilities, confidence=frame.confidence, timings={}))
    assert combine_burst(frames).recipe.choice("hair") == "long01"
    assert combine_burst(frames[2:]).recipe.choice("hair") == "short02"


def test_a_photos_looks_by_the_macro_member_survive_the_burst():
    """Frames of a photo choose hair and beard by the macro member (`photo_looks`), not by the members'
    probabilities, which the frames still carry: the burst keeps the frames' choice."""
    rng = np.random.default_rng(4)
    groups = schema.discrete_by_name()
    members_say = {"hair": np.eye(len(groups["hair"].options))[groups["hair"].options.index("short04")],
                   "beard": np.eye(len(groups["beard"].options))[4]}
    woman = FaceAttributes(male=0.02, years=30.0, years_spread=3.0)
    frames = []
    for _ in range(3):
        frame = _prediction(_unit(rng), {r: 0.5 for r in schema.REGIONS}, np.eye(len(groups["eye_colour"].options))[0])
        recipe = frame.recipe
        looks, sources = photo_looks(woman)
        for group, option in looks.items():
            recipe = recipe.with_choice(group, option)
        frames.append(Prediction(recipe=recipe, continuous=frame.continuous,
                                 probabilities={**frame.probabilities, **members_say}, confidence=frame.confidence,
                                 timings={}, attributes=woman, sources=sources))
    fused = combine_burst(frames)
    assert (fused.recipe.choice("hair"), fused.recipe.choice("beard")) == ("long01", "none")
    assert fused.sources == sources  # the studio still says "by gender"
    assert combine_burst([replace(f, sources={}) for f in frames]).recipe.choice("hair") == "short04"
