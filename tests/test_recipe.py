"""Recipes: .mhm and JSON reading/writing, lossless round trips, malformed input, choices."""

import numpy as np
import pytest

from f2p_engine.errors import InputError
from f2p_engine.headmodel import schema
from f2p_engine.recipe import (
    Recipe,
    continuous_vector,
    discrete_indices,
    format_mhm,
    parse_mhm,
    read_recipe,
    recipe_from_parameters,
    write_json,
    write_mhm,
)
from f2p_engine.synth.sampler import recipe_rng, sample_recipe

MAKEHUMAN_FILE = """# Written by MakeHuman 1.1.1
version v1.1.1
tags tag1;tag two
camera 0.0 0.0 0.0 0.0 0.0 1.0
modifier macrodetails-universal/Muscle 0.500000
modifier macrodetails/African 0.000000
modifier macrodetails-proportions/BodyProportions 0.730000
modifier nose/nose-trans-down|up 0.123456789
modifier ears/r-ear-rot-backward|forward 0.300000
modifier head/head-oval 0.600000
modifier macrodetails/Gender 1.000000
eyes HighPolyEyes 2c12f43b-1303-432c-b7ce-d78346baf2e6
clothesHideFaces True
clothes fedora01 4c9be4da-2d03-4d96-a3df-a9bd8bd7ad41
skinMaterial skins/young_african_male/young_african_male.mhmat
material HighPolyEyes 2c12f43b-1303-432c-b7ce-d78346baf2e6 eyes/materials/green.mhmat
subdivide False
name Some Body
uuid 0d8e1f3c-53b4-4a8a-9a50-6f1c8f3f7f6b
"""


def test_makehuman_file_reads_and_round_trips(tmp_path):
    result = parse_mhm(MAKEHUMAN_FILE, "mh.mhm")
    recipe = result.recipe
    assert result.warnings == ()
    assert recipe.name == "Some Body"
    assert recipe.tags == ("tag1", "tag two")
    assert list(recipe.modifiers)[:2] == ["macrodetails-universal/Muscle", "macrodetails/African"]
    assert recipe.modifiers["nose/nose-trans-down|up"] == 0.123456789
    assert recipe.choice("skin") == "young_african_male"
    assert recipe.choice("eye_colour") == "green"
    assert recipe.value("head/head-oval") == pytest.approx(0.6)
    assert recipe.value("head/head-square") == 0.0
    assert recipe.choice("eyebrows") == "eyebrow001"  # none set: the group's default
    unapplied = "\n".join(recipe.unapplied())
    assert "ears/r-ear-rot-backward|forward" in unapplied
    assert "BodyProportions" in unapplied
    assert "clothes fedora01" in unapplied
    assert "Muscle" not in unapplied

    path = tmp_path / "out.mhm"
    write_mhm(recipe, path)
    again = read_recipe(path)
    assert again.warnings == ()
    # Every line and order kept; values at MakeHuman's own six decimals (as MakeHuman re-saves them).
    assert (again.recipe.name, again.recipe.tags, again.recipe.properties) == (recipe.name, recipe.tags,
                                                                               recipe.properties)
    assert list(again.recipe.modifiers.items()) == [(n, round(v, 6)) for n, v in recipe.modifiers.items()]


def test_json_round_trip(tmp_path):
    recipe = parse_mhm(MAKEHUMAN_FILE).recipe
    write_json(recipe, tmp_path / "r.json")
    again = read_recipe(tmp_path / "r.json").recipe
    assert list(again.modifiers.items()) == [(n, round(v, 6)) for n, v in recipe.modifiers.items()]
    assert (again.name, again.tags, again.properties) == (recipe.name, recipe.tags, recipe.properties)


def test_malformed_lines_are_reported_and_skipped():
    text = ("version v1.1.1\nmodifier nose/nose-trans-down|up\nmodifier nose/nose-hump-decr|incr abc\n"
            "modifier chin/chin-width-decr|incr 3.5\nmodifier head/head-round -0.2\nskinMaterial\n"
            "modifier mouth/mouth-trans-down|up 0.2\nmodifier mouth/mouth-trans-down|up 0.4\n")
    result = parse_mhm(text, "bad.mhm")
    assert len(result.warnings) == 6
    assert all(w.startswith("bad.mhm:") for w in result.warnings)
    mods = result.recipe.modifiers
    assert "nose/nose-trans-down|up" not in mods
    assert "nose/nose-hump-decr|incr" not in mods
    assert mods["chin/chin-width-decr|incr"] == 1.0
    assert mods["head/head-round"] == 0.0
    assert mods["mouth/mouth-trans-down|up"] == 0.4


@pytest.mark.parametrize(("content", "message"), [
    (b"", "no 'version' line"),
    (b"hello world\nthis is not a recipe\n", "no 'version' line"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"version v2.0.0\nmodifier a 1\n", "unsupported .mhm version"),
    (b"\xff\xfe\xfa not utf8", "not UTF-8"),
])
def test_non_mhm_files_are_refused(tmp_path, content, message):
    path = tmp_path / "x.mhm"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_recipe(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_recipe(tmp_path / "nope.mhm")


def test_choices_and_values():
    recipe = Recipe()
    assert recipe.value("head/head-square") == 0.0
    recipe = recipe.with_values({"head/head-square": 0.7, "head/head-round": 1.5})
    assert recipe.modifiers["head/head-square"] == 0.7  # head shapes add up: neither replaces the other
    assert recipe.modifiers["head/head-round"] == 1.0  # clamped to MakeHuman's [0, 1]
    recipe = recipe.with_choice("eye_colour", "blue").with_choice("eye_colour", "green")
    eye_lines = [p for p in recipe.properties if p[0] in ("eyes", "material")]
    assert len(eye_lines) == 2
    assert recipe.choice("eye_colour") == "green"
    assert recipe.with_values({"chin/chin-width-decr|incr": 7}).value("chin/chin-width-decr|incr") == 1.0
    with pytest.raises(InputError):
        recipe.with_choice("skin", "purple")
    text = format_mhm(recipe.with_choice("eyebrows", "eyebrow005").with_choice("skin", "young_asian_female"))
    wanted = ("eyes", "eyebrows", "skinMaterial", "material")
    order = [line.split()[0] for line in text.splitlines() if line.split()[0] in wanted]
    assert order == ["eyes", "eyebrows", "skinMaterial", "material"]  # MakeHuman's own order


def test_parameter_vectors_round_trip():
    recipe = sample_recipe(recipe_rng(5, 0))
    vector = continuous_vector(recipe)
    assert vector.shape == (len(schema.CONTINUOUS),)
    assert vector.min() >= 0
    assert vector.max() <= 1
    choices = {g.name: g.options[i] for g, i in zip(schema.DISCRETE_GROUPS, discrete_indices(recipe).values(),
                                                     strict=True)}
    rebuilt = recipe_from_parameters(vector, choices)
    np.testing.assert_allclose(continuous_vector(rebuilt), vector, atol=1e-6)
    assert discrete_indices(rebuilt) == discrete_indices(recipe)


MAKEHUMAN_PROXY_LINES = """version v1.1.1
uuid 7d6a1e38-9f1c-4c35-8b7e-2f7d5c0b6a11
name Braids
modifier macrodetails/Gender 0.000000
eyebrows eyebrow010 8261cde8-7ce2-47f3-a7a2-edf459c50887
eyes HighPolyEyes 2c12f43b-1303-432c-b7ce-d78346baf2e6
hair Braid01 eead6f99-d6c6-4f6b-b6c2-210459d7a62e
eyelashes Eyelashes01 d533836f-13ad-4836-8b65-051108253cd2
skinMaterial skins/default.mhmat
"""


def test_hair_eyebrows_and_eyelashes_read_from_makehuman_lines_and_write_back_as_makehuman_writes_them():
    recipe = parse_mhm(MAKEHUMAN_PROXY_LINES).recipe
    assert (recipe.choice("hair"), recipe.choice("eyebrows"), recipe.choice("eyelashes")) == (
        "braid01", "eyebrow010", "eyelashes01")
    assert "hair" not in "\n".join(recipe.unapplied())  # applied, not "kept, not shown"
    again = parse_mhm(format_mhm(recipe)).recipe
    assert again == recipe
    lines = format_mhm(Recipe().with_choice("hair", "short02").with_choice("eyelashes", "eyelashes03")).splitlines()
    assert "hair short02 c104cd4a-1edc-43f9-8b94-f63345a44638" in lines
    assert "eyelashes eyelashes03 a311babf-a7fb-4d65-a1fc-94ab99fe520f" in lines
    braided = format_mhm(Recipe().with_choice("hair", "braid01")).splitlines()
    assert "hair Braid01 eead6f99-d6c6-4f6b-b6c2-210459d7a62e" in braided
    bald = recipe.with_choice("hair", "short01").with_choice("hair", "none")
    assert bald.choice("hair") == "none"
    assert not [line for line in format_mhm(bald).splitlines() if line.startswith("hair")]  # as MakeHuman: no line


def test_hair_colour_and_beard_go_to_the_json_only(tmp_path):
    recipe = Recipe().with_choice("hair", "afro01").with_choice("hair_colour", "red").with_choice("beard", "goatee")
    assert "red" not in format_mhm(recipe)
    assert "goatee" not in format_mhm(recipe)
    assert parse_mhm(format_mhm(recipe)).recipe.choice("beard") == "none"  # MakeHuman has no beard
    write_json(recipe, tmp_path / "r.json")
    again = read_recipe(tmp_path / "r.json")
    assert (again.recipe.looks, again.recipe.properties) == (recipe.looks, recipe.properties)
    assert (again.recipe.choice("hair_colour"), again.recipe.choice("beard")) == ("red", "goatee")
    assert recipe.with_choice("beard", "full").choice("beard") == "full"  # replaced, not added
    assert len(recipe.with_choice("beard", "full").looks) == 2


def test_an_unknown_look_in_json_is_reported_and_skipped(tmp_path):
    import json

    data = {"format": "f2p-recipe-1", "modifiers": [], "looks": [["beard", "braided"], ["hair", "afro01"]]}
    (tmp_path / "r.json").write_text(json.dumps(data))
    result = read_recipe(tmp_path / "r.json")
    assert result.recipe.looks == ()
    assert len(result.warnings) == 2


def test_a_recipe_knows_which_choices_it_makes():
    recipe = Recipe().with_choice("hair", "bob01").with_choice("beard", "stubble")
    assert [g.name for g in schema.DISCRETE_GROUPS if recipe.sets(g.name)] == ["hair", "beard"]
    assert not recipe.with_choice("hair", "none").sets("hair")  # bald: no hair line, as MakeHuman writes it
    assert parse_mhm(MAKEHUMAN_FILE).recipe.sets("skin")
