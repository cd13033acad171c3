"""Synthetic samples: aligned like photos, labelled with the neutral recipe, deterministic per (seed, index)."""

import numpy as np
import pytest

from f2p_engine.face.align import alignment_transform, eye_centres, eye_targets, region_boxes
from f2p_engine.headmodel import schema
from f2p_engine.recipe import continuous_vector
from f2p_engine.synth.augment import (
    BACKGROUND_KINDS,
    AugmentConfig,
    Background,
    Photometric,
    degrade,
    render_background,
    sample_augmentation,
)
from f2p_engine.synth.factory import SampleFactory
from f2p_engine.synth.sampler import recipe_rng, sample_recipe

SIZE = 96


@pytest.fixture(scope="module")
def factory():
    f = SampleFactory(SIZE)
    yield f
    f.renderer.release()


def test_same_seed_and_index_give_the_same_bytes(factory):
    a, b = factory.make(11, 3), factory.make(11, 3)
    for name in ("image", "labels", "landmarks", "boxes", "continuous", "discrete", "pose"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    other = factory.make(11, 4)
    assert other.image.tobytes() != a.image.tobytes()


def test_an_expression_changes_the_face_not_the_labels_or_the_framing(factory):
    drawn = factory.make(11, 3)
    smile = {"mouthSmileLeft": 0.6, "mouthSmileRight": 0.6}
    neutral, smiling = factory.make(11, 3, expression={}), factory.make(11, 3, expression=smile)
    assert neutral.augmentation.expression == {}
    assert smiling.augmentation.expression == smile
    assert neutral.augmentation.pose == drawn.augmentation.pose
    assert neutral.continuous.tobytes() == smiling.continuous.tobytes() == drawn.continuous.tobytes()
    changed = np.abs(smiling.image.astype(int) - neutral.image.astype(int)).max(axis=2) > 20
    # The smile moves the mouth: pixels change around it, little elsewhere.
    mouth = smiling.boxes[list(schema.LOCAL_REGIONS).index("mouth")]
    inside = changed[max(mouth[1], 0):mouth[3], max(mouth[0], 0):mouth[2]].mean()
    assert inside > 0.05
    assert inside > 3 * changed.mean()


def test_eyes_land_on_the_fixed_pixels(factory):
    for index in range(4):
        sample = factory.make(5, index)
        np.testing.assert_allclose(eye_centres(sample.landmarks), eye_targets(SIZE), atol=1e-3)
        # The stored boxes are the photo pipeline's boxes of the stored landmarks.
        boxes = region_boxes(sample.landmarks, SIZE)
        assert sample.boxes.tolist() == [boxes[r].as_list() for r in schema.LOCAL_REGIONS]
        # Landmarks sit on the rendered head, not on the background.
        inside = np.round(sample.landmarks[17:]).astype(int).clip(0, SIZE - 1)
        assert (sample.labels[inside[:, 1], inside[:, 0]] > 0).mean() > 0.95


def test_labels_are_the_neutral_recipe(factory):
    sample = factory.make(9, 2)
    recipe = sample_recipe(recipe_rng(9, 2))
    np.testing.assert_array_equal(sample.continuous, continuous_vector(recipe))
    expected = [g.options.index(recipe.choice(g.name)) for g in schema.DISCRETE_GROUPS]
    assert sample.discrete.tolist() == expected
    assert sample.image.shape == (SIZE, SIZE, 3)
    assert sample.image.dtype == np.uint8
    assert sample.labels.shape == (SIZE, SIZE)
    assert sample.labels.dtype == np.uint8


def test_augmentation_stays_in_its_documented_ranges():
    config = AugmentConfig(yaw=25, pitch=15, roll=10)
    recipe = sample_recipe(recipe_rng(0, 0))
    draws = [sample_augmentation(np.random.default_rng(i), recipe, config) for i in range(200)]
    poses = np.array([[d.pose.yaw, d.pose.pitch, d.pose.roll] for d in draws])
    assert (np.abs(poses) <= [25, 15, 10]).all()
    assert (np.abs(poses).max(axis=0) > [20, 12, 8]).all()  # the ranges are used, not just allowed
    assert {d.background.kind for d in draws} == set(BACKGROUND_KINDS)
    assert 0.15 < np.mean([not d.expression for d in draws]) < 0.45
    names = set(schema.SKINS)
    assert all(d.appearance.skin == recipe.choice("skin") for d in draws)
    assert recipe.choice("skin") in names
    assert all(max(d.expression.values(), default=0) <= 0.45 for d in draws)


def test_samples_wear_their_recipes_hair_and_women_mostly_make_up():
    """Hair, hair colour, beard, eyebrows and eyelashes come from the recipe (and are its labels); make-up
    is augmentation, drawn for most women and few men."""
    recipes = [sample_recipe(recipe_rng(3, i)) for i in range(300)]
    men = [r for r in recipes if r.value("macrodetails/Gender") >= 0.5]
    women = [r for r in recipes if r.value("macrodetails/Gender") < 0.5]
    assert 0.3 < np.mean([r.choice("beard") != "none" for r in men]) < 0.7
    assert not any(r.choice("beard") != "none" for r in women)
    assert np.mean([r.choice("hair") == "none" for r in recipes]) < 0.15
    assert len({r.choice("hair") for r in recipes}) == len(schema.HAIR) + 1
    assert len({r.choice("hair_colour") for r in recipes}) == len(schema.HAIR_COLOURS)
    for group, made_up in ((women, (0.4, 0.8)), (men, (0.0, 0.15))):
        draws = [sample_augmentation(np.random.default_rng(i), r) for i, r in enumerate(group)]
        looks = [(d.appearance.hair, d.appearance.eyebrows, d.appearance.eyelashes, d.appearance.beard) for d in draws]
        assert looks == [(r.choice("hair"), r.choice("eyebrows"), r.choice("eyelashes"), r.choice("beard"))
                         for r in group]
        share = np.mean([d.appearance.lipstick[3] + d.appearance.eye_shadow[3] + d.appearance.blush[3]
                         + d.appearance.eyeliner > 0 for d in draws])
        assert made_up[0] < share < made_up[1]
        assert 0.1 < np.mean([d.appearance.glasses is not None for d in draws]) < 0.45


def test_pose_is_what_the_alignment_sees():
    """Roll turns the eye line clockwise in the image (+angle, y down); alignment turns it back."""
    factory = SampleFactory(64, AugmentConfig(yaw=0, pitch=0, roll=10, expression=False, photometric=False))
    try:
        for index in range(3):
            sample = factory.make(2, index)
            rendering = factory.renderer.render(factory.model.vertices(sample.recipe.modifiers),
                                                sample.augmentation.camera, pose=sample.augmentation.pose,
                                                appearance=sample.augmentation.appearance)
            matrix = alignment_transform(rendering.landmarks, 64)
            angle = np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0]))
            assert angle == pytest.approx(-sample.augmentation.pose.roll, abs=1.5)
    finally:
        factory.renderer.release()


@pytest.mark.parametrize("kind", BACKGROUND_KINDS)
def test_backgrounds(kind):
    image = render_background(Background(kind=kind, colours=((10, 20, 30), (240, 200, 100)), seed=4), 48)
    assert image.shape == (48, 48, 3)
    assert image.dtype == np.uint8
    if kind == "flat":
        assert (image == [10, 20, 30]).all()
    else:
        assert image.std() > 5
    again = render_background(Background(kind=kind, colours=((10, 20, 30), (240, 200, 100)), seed=4), 48)
    assert (image == again).all()


def test_degrade():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert (degrade(image, Photometric(), rng) == image).all()
    blurred = degrade(image, Photometric(blur_sigma=1.0), rng)
    assert blurred.std() < image.std() * 0.8
    noisy = degrade(np.full((32, 32, 3), 128, np.uint8), Photometric(noise_sigma=5.0), rng)
    assert 3 < noisy.astype(float).std() < 7
    jpeg = degrade(image, Photometric(jpeg_quality=40), rng)
    assert jpeg.shape == image.shape
    assert not (jpeg == image).all()
