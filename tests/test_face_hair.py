"""Hair beside the face measured in pixels (`face.hair`): the shipped selfie segmentation on real renders of
one head with long and with short hair and in four hair colours, on the astronaut photo, and the hair style
and colour it sets in predictions."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from f2p_engine.face.attributes import FaceAttributes
from f2p_engine.face.detect import detect_faces
from f2p_engine.face.hair import (
    LIGHT_HAIR,
    RED_HAIR,
    SIDE_HAIR_REACH,
    HairReading,
    head_view,
    person_mask,
    read_hair,
    view_transform,
)
from f2p_engine.face.image import RGBImage
from f2p_engine.infer.pipeline import (
    BY_GENDER,
    LIGHT_HAIR_COLOUR,
    MEASURED,
    PHOTO_LOOKS,
    RED_HAIR_COLOUR,
    SHORT_HAIR,
    photo_looks,
)
from f2p_engine.render.recipe_view import render_recipe
from f2p_engine.render.renderer import Renderer
from f2p_engine.synth.sampler import recipe_at

#: Hair colours of the renders, darkest first, and red.
COLOURS = ("black", "dark_brown", "light_brown", "blonde")
RED = "red"


@pytest.fixture(scope="module")
def renders() -> dict[str, RGBImage]:
    """hair style (light brown) or long01's colour -> 384 px front render of one sampled head wearing it
    (the real renderer)."""
    renderer = Renderer(size=384)
    try:
        head = recipe_at(2026, 2)  # the bundled sample's head (young caucasian female skin, light brown hair)
        wearing = {**{hair: head.with_choice("hair", hair) for hair in ("long01", "short02", "none")},
                   **{colour: head.with_choice("hair", "long01").with_choice("hair_colour", colour)
                      for colour in (*COLOURS, RED)}}
        return {name: RGBImage(pixels=render_recipe(recipe, renderer), source=name) for name, recipe in wearing.items()}
    finally:
        renderer.release()


def _reading(image: RGBImage) -> HairReading:
    (face,) = detect_faces(image)
    reading = read_hair(image, face)
    assert reading is not None
    return reading


def test_long_hair_frames_the_face_and_short_hair_does_not(renders):
    long, short, bald = (_reading(renders[h]) for h in ("long01", "short02", "none"))
    assert min(long.reach) >= SIDE_HAIR_REACH, long  # it frames the face on both sides
    assert not short.on_either_side, short
    assert not bald.on_either_side, bald
    # Short hair and a bald head end the silhouette at the cheek.
    assert max(short.reach + bald.reach) < 1.15


def test_hair_reads_lighter_against_the_skin_as_its_colour_lightens(renders):
    lightness = [_reading(renders[colour]).lightness for colour in COLOURS]
    assert lightness == sorted(lightness), lightness
    assert lightness[COLOURS.index("dark_brown")] < LIGHT_HAIR <= lightness[COLOURS.index("blonde")], lightness


def test_only_red_hair_reads_red(renders):
    readings = {colour: _reading(renders[colour]) for colour in (*COLOURS, RED)}
    assert [c for c, r in readings.items() if r.red] == [RED], {c: r.redness for c, r in readings.items()}
    assert not readings[RED].light  # red hair is no lighter than light brown against the skin


def test_the_segmentation_finds_the_person_not_the_background(renders):
    image = renders["short02"]
    (face,) = detect_faces(image)
    matrix = view_transform(face.landmarks)
    mask = person_mask(image, matrix, head_view(image, matrix))
    centre = np.round(matrix @ np.array([*face.mesh[1, :2], 1.0])).astype(int)  # the nose tip
    assert mask[centre[1], centre[0]]
    assert not mask[:8].any(), "the view's top rows are background or outside the render"
    assert 0.1 < mask.mean() < 0.7


def test_the_astronaut_reads_without_hair_hanging_beside_her_face():
    """Eileen Collins wears her hair short, above the ears: a woman's default (long hair) is contradicted."""
    image = RGBImage(pixels=data.astronaut(), source="astronaut")
    reading = _reading(image)
    assert not reading.on_either_side, reading
    woman = FaceAttributes(male=0.05, years=40.0, years_spread=3.0)
    looks, sources = photo_looks(woman, reading)
    assert (looks["hair"], sources["hair"]) == (SHORT_HAIR, MEASURED)
    assert (looks["hair_colour"], sources["hair_colour"]) == ("black", MEASURED)  # her hair is dark brown


def test_the_look_rule_measures_only_a_womans_hair():
    woman = FaceAttributes(male=0.05, years=30.0, years_spread=3.0)
    man = FaceAttributes(male=0.95, years=30.0, years_spread=3.0)
    framed, one_side, bare = (HairReading(reach=r) for r in ((1.8, 1.6), (1.05, 2.0), (1.0, 1.02)))
    assert max(bare.reach) < SIDE_HAIR_REACH <= max(one_side.reach)
    by_gender = dict.fromkeys(PHOTO_LOOKS["female"], BY_GENDER)
    assert photo_looks(woman) == (PHOTO_LOOKS["female"], by_gender)
    for reading in (framed, one_side):  # hair beside her face on either side: long, as the default
        assert photo_looks(woman, reading) == (PHOTO_LOOKS["female"], {**by_gender, "hair": MEASURED})
    assert photo_looks(woman, bare) == ({**PHOTO_LOOKS["female"], "hair": SHORT_HAIR}, {**by_gender, "hair": MEASURED})
    # A man's hair is the gender's whatever the photo shows (see `SHORT_HAIR`), and says so.
    for reading in (None, framed, bare):
        assert photo_looks(man, reading) == (PHOTO_LOOKS["male"], by_gender)


def test_a_womans_light_hair_is_blonde_and_a_mans_stays_the_genders():
    woman = FaceAttributes(male=0.05, years=30.0, years_spread=3.0)
    man = FaceAttributes(male=0.95, years=30.0, years_spread=3.0)
    light, dark = HairReading(reach=(1.8, 1.6), lightness=LIGHT_HAIR), HairReading(reach=(1.8, 1.6), lightness=0.1)
    measured = {**dict.fromkeys(PHOTO_LOOKS["female"], BY_GENDER), "hair": MEASURED, "hair_colour": MEASURED}
    assert photo_looks(woman, light) == ({**PHOTO_LOOKS["female"], "hair_colour": LIGHT_HAIR_COLOUR}, measured)
    assert photo_looks(woman, dark) == (PHOTO_LOOKS["female"], measured)
    red = HairReading(reach=(1.8, 1.6), lightness=LIGHT_HAIR, redness=RED_HAIR)  # red wins over light
    assert photo_looks(woman, red) == ({**PHOTO_LOOKS["female"], "hair_colour": RED_HAIR_COLOUR}, measured)
    # A bald crown reads as light as skin (a render without hair: ~0.96), so a man's colour is never read.
    for reading in (light, red):
        assert photo_looks(man, reading) == (PHOTO_LOOKS["male"], dict.fromkeys(PHOTO_LOOKS["male"], BY_GENDER))
