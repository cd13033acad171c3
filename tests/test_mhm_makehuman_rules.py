"""Every kind of .mhm f2p writes loads under MakeHuman 1.x's own loading rules without a warning."""

from __future__ import annotations

import numpy as np
import pytest
from makehuman_rules import makehuman_warnings

from f2p_engine.headmodel import schema
from f2p_engine.infer.fusion import fuse_predictions
from f2p_engine.infer.pipeline import Prediction
from f2p_engine.recipe import Recipe, format_mhm, parse_mhm, read_recipe, recipe_to_dict, write_json
from f2p_engine.synth.sampler import recipe_at

KNOWN = {p.name for p in schema.CONTINUOUS} | set(schema.MACRO_MODIFIERS)


def _prediction(recipe: Recipe, confidence: float) -> Prediction:
    continuous = np.array([p.normalise(recipe.value(p.name)) for p in schema.CONTINUOUS])
    probabilities = {g.name: np.eye(len(g.options))[g.options.index(recipe.choice(g.name))]
                     for g in schema.DISCRETE_GROUPS if g.predicted}
    return Prediction(recipe=recipe, continuous=continuous, probabilities=probabilities,
                      confidence=dict.fromkeys(schema.REGIONS, confidence), timings={})


def _every_kind() -> dict[str, Recipe]:
    chosen = Recipe(name="chosen")
    for group in schema.DISCRETE_GROUPS:
        chosen = chosen.with_choice(group.name, group.options[-1])
    fused = fuse_predictions([_prediction(recipe_at(1, 0), 0.3), _prediction(recipe_at(1, 1), 0.9)]).prediction.recipe
    return {"default": Recipe(), "sampled": recipe_at(7, 3), "every choice": chosen, "fused": fused,
            "blank name": Recipe(name=" ")}


@pytest.mark.parametrize("kind", list(_every_kind()))
def test_every_mhm_f2p_writes_loads_in_makehuman_without_a_warning(kind):
    recipe = _every_kind()[kind]
    text = format_mhm(recipe)
    assert makehuman_warnings(text, KNOWN) == []


def test_no_empty_tags_line_and_six_decimals_everywhere(tmp_path):
    fused = _every_kind()["fused"]
    text = format_mhm(fused)
    assert "tags" not in [line.split()[0] for line in text.splitlines()]
    values = [line.split()[2] for line in text.splitlines() if line.startswith("modifier ")]
    assert values
    assert all(len(v.split(".")[1]) == 6 for v in values)
    write_json(fused, tmp_path / "fused.json")
    from_json = read_recipe(tmp_path / "fused.json").recipe
    from_mhm = parse_mhm(text).recipe
    assert dict(from_json.modifiers) == dict(from_mhm.modifiers)  # JSON and .mhm round the same way
    assert all(v == round(v, 6) for _, v in recipe_to_dict(fused)["modifiers"])


def test_the_checker_finds_what_makehuman_warns_about():
    text = "version v1.1.1\nname x\ntags \nmodifier nose/not-a-modifier 0.5\n\nbogus 1\n"
    found = makehuman_warnings(text, KNOWN)
    assert len(found) == 4
