"""Issue 12, recipes: hostile .mhm and JSON files end in one line and exit 2, or read back safely.

Reproducers from the issue through the real command, then property-based tests (hypothesis, fixed
seed, small budget) of the readers: any bytes either read as a recipe that writes and reads back
the same, or raise InputError; nothing else escapes.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from f2p_engine.cli import main
from f2p_engine.errors import InputError
from f2p_engine.recipe import (
    MAX_RECIPE_BYTES,
    MAX_WARNINGS,
    Recipe,
    format_mhm,
    parse_mhm,
    read_recipe,
    recipe_from_dict,
)

AGE = "head/head-age-decr|incr"
BUDGET = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _run_mesh(recipe, out):
    return subprocess.run([sys.executable, "-m", "f2p_engine", "mesh", str(recipe), "-o", str(out)],
                          capture_output=True, text=True, timeout=120)


def _json(**fields) -> str:
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # to write the 5000-digit case; readers keep Python's limit
    try:
        return json.dumps({"format": "f2p-recipe-1", "modifiers": [], **fields})
    finally:
        sys.set_int_max_str_digits(limit)


@pytest.mark.parametrize(("content", "problem"), [
    ('{"format":"f2p-recipe-1","modifiers":[],"x":' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
    (_json(modifiers=[[AGE, math.nan]]), "non-finite"),
    (_json(modifiers=[[AGE, math.inf]]), "non-finite"),
    (_json(name=f"x\nmodifier {AGE} 1"), "name must be one line"),
    (_json(tags=[1, {"a": 2}]), "tags"),
    (_json(properties=[["modifier", f"{AGE} 1"]]), "another kind of line"),
    (_json(properties=[["skinMaterial", "a\rb"]]), "line break"),
    (_json(modifiers=[[AGE, "1"]]), "not a number"),
    (_json(modifiers={"a": 1}), "pairs"),
    (_json(modifiers=[[AGE, 10**400]]), "non-finite"),
    (_json(modifiers=[[AGE, 10**5000]]), "number too long"),
], ids=["nested", "nan", "inf", "newline-name", "tag-types", "fake-modifier", "cr-property", "string-value",
        "modifier-dict", "huge-int", "5000-digits"])
def test_hostile_json_recipe_exits_2_with_one_line(tmp_path, content, problem):
    recipe = tmp_path / "r.json"
    recipe.write_text(content)
    result = _run_mesh(recipe, tmp_path / "o.obj")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"f2p mesh: error: {recipe}: ")
    assert problem in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_out_of_range_json_values_are_clamped_and_reported(tmp_path, capsys):
    recipe = tmp_path / "r.json"
    recipe.write_text(_json(modifiers=[[AGE, 1e308], ["head/head-oval", -3]]))
    result = read_recipe(recipe)
    assert result.recipe.modifiers[AGE] == 1.0
    assert result.recipe.modifiers["head/head-oval"] == 0.0
    assert len(result.warnings) == 2
    assert all(str(recipe) in w and "clamped" in w for w in result.warnings)


def test_a_recipe_over_the_size_limit_is_refused_quickly(tmp_path):
    recipe = tmp_path / "huge.mhm"
    line = f"modifier {AGE} 5.000000\n".encode()
    recipe.write_bytes(b"version v1.1.1\n" + line * (MAX_RECIPE_BYTES // len(line) + 1))
    result = _run_mesh(recipe, tmp_path / "o.obj")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"f2p mesh: error: {recipe}: too large for a recipe (over 1 MB; MakeHuman's are a few KB)"]


def test_thousands_of_problems_are_summarised(tmp_path, capsys):
    recipe = tmp_path / "many.mhm"
    recipe.write_text("version v1.1.1\n" + f"modifier {AGE} 5\n" * 5000 + "ears 1\n" * 5000)
    assert main(["mesh", str(recipe), "-o", str(tmp_path / "o.obj")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 * (MAX_WARNINGS + 1)
    # every line is clamped, every one but the first also repeats the modifier
    assert err[MAX_WARNINGS].endswith(f"{2 * 5000 - 1 - MAX_WARNINGS} more like these not listed")
    assert err[-1].endswith(f"{5000 - MAX_WARNINGS} more like these not listed")


@pytest.mark.parametrize("recipe", [
    Recipe(name="x\nmodifier head/head-age-decr|incr 1"),
    Recipe(uuid="a\u2028b"),
    Recipe(tags=("a;b",)),
    Recipe(modifiers={AGE: math.nan}),
    Recipe(modifiers={"two words": 0.5}),
    Recipe(properties=(("name", "other"),)),
])
def test_a_recipe_that_would_not_read_back_is_never_written(recipe, tmp_path):
    with pytest.raises(InputError, match="cannot be written"):
        format_mhm(recipe)


# -- property-based: any input reads as a safe recipe or raises InputError ----------------------
_VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.booleans(), st.text(max_size=5),
                    st.none())
_JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text(max_size=8)),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                     max_size=3),
                        max_leaves=12)
_NAMES = st.one_of(st.sampled_from([AGE, "head/head-oval", "ears/l-ear-lobe-decr|incr", "macrodetails/Gender"]),
                   st.text(max_size=12))


def _reads_back_the_same(recipe: Recipe) -> None:
    """What the readers let through writes as .mhm and reads back identically, finite and in range."""
    again = parse_mhm(format_mhm(recipe), "<again>")
    assert again.warnings == ()
    assert dict(again.recipe.modifiers) == {n: round(v, 6) for n, v in recipe.modifiers.items()}  # MakeHuman's %f
    camera_first = sorted(recipe.properties, key=lambda p: p[0] != "camera")  # how .mhm files order them
    assert list(again.recipe.properties) == camera_first
    assert (again.recipe.name, again.recipe.tags) == ((recipe.name if recipe.name.strip() else "f2p"), recipe.tags)
    assert all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in recipe.modifiers.values())


@seed(12)
@BUDGET
@given(data=st.fixed_dictionaries(
    {"format": st.just("f2p-recipe-1"), "modifiers": st.lists(st.tuples(_NAMES, _VALUES).map(list), max_size=6)},
    optional={"name": st.one_of(st.text(max_size=10), _JSONISH), "uuid": st.text(max_size=10),
              "tags": st.one_of(st.lists(st.text(max_size=6), max_size=3), _JSONISH),
              "properties": st.lists(st.lists(st.text(max_size=8), min_size=2, max_size=2), max_size=3),
              "extra": _JSONISH}))
def test_json_recipes_read_safely_or_raise_input_error(data):
    try:
        recipe = recipe_from_dict(json.loads(json.dumps(data)), "<fuzz>")
    except InputError:
        return
    _reads_back_the_same(recipe)


_MHM_LINES = st.one_of(
    st.builds(lambda n, v: f"modifier {n} {v}", _NAMES, st.one_of(st.floats().map(repr), st.text(max_size=6))),
    st.builds(lambda k, r: f"{k} {r}", st.sampled_from(["name", "tags", "uuid", "skinMaterial", "eyebrows",
                                                        "material", "camera", "clothes", "#", "version"]),
              st.text(max_size=12)),
    st.text(max_size=20),
)


@seed(12)
@BUDGET
@given(lines=st.lists(_MHM_LINES, max_size=12), version=st.sampled_from(["version v1.1.1\n", "version v2\n", ""]))
def test_mhm_text_reads_safely_or_raises_input_error(lines, version):
    try:
        result = parse_mhm(version + "\n".join(lines), "<fuzz>")
    except InputError:
        return
    assert len(result.warnings) <= MAX_WARNINGS + 1
    _reads_back_the_same(result.recipe)


@seed(12)
@BUDGET
@given(raw=st.binary(max_size=300))
def test_any_bytes_read_safely_or_raise_input_error(raw, tmp_path):
    path = tmp_path / "fuzz.mhm"
    path.write_bytes(raw)
    try:
        result = read_recipe(path)
    except InputError as exc:
        problem = str(exc)
    else:
        _reads_back_the_same(result.recipe)
        return
    assert str(path) in problem
