"""Head model: asset integrity, modifier and macro semantics, head mesh topology."""

import shutil

import numpy as np
import pytest

from f2p_engine.errors import AssetError
from f2p_engine.files import resources_dir
from f2p_engine.headmodel import schema
from f2p_engine.headmodel.asset import ASSET_FILE, VERTEX_COUNT, load_asset
from f2p_engine.headmodel.macro import age_token_weights, macro_target_weights
from f2p_engine.headmodel.mesh import HEAD_CUT_Y, HeadModel, default_modifiers, face_target_weights, head_mesh

SHIPPED_ASSET = resources_dir() / "head" / ASSET_FILE


def _sparse_sum(asset, weights):
    """Reference: base + sum of weighted sparse targets, accumulated target by target in float64."""
    out = asset.base_coords.astype(np.float64)
    for name, w in weights.items():
        index, offsets = asset.targets.rows(name)
        out[index] += w * offsets
    return out


def test_asset_shapes_and_units(asset):
    assert asset.base_coords.shape == (VERTEX_COUNT, 3)
    assert asset.faces.shape == (18486, 4)
    # hm08 is about 17 dm tall, Y up, eyes near y = 7.3 dm.
    assert 16 < np.ptp(asset.base_coords[:13380, 1]) < 18
    for modifier in schema.face_modifiers():
        for target in schema.modifier_targets(modifier):
            if target is not None:
                asset.targets.position(target)
    assert len(asset.expressions.names) == 52
    # The mirror table pairs left and right: x flips sign.
    i = 14598  # a left-eye helper vertex
    assert asset.base_coords[asset.mirror[i], 0] == pytest.approx(-asset.base_coords[i, 0], abs=1e-3)


def test_tampered_asset_is_refused(tmp_path):
    folder = tmp_path / "head"
    shutil.copytree(SHIPPED_ASSET.parent, folder)
    data = bytearray((folder / SHIPPED_ASSET.name).read_bytes())
    data[-100] ^= 0xFF
    (folder / SHIPPED_ASSET.name).write_bytes(bytes(data))
    with pytest.raises(AssetError, match="sha256"):
        load_asset(folder / SHIPPED_ASSET.name)


def test_nose_up_moves_only_nose_vertices_upwards(head_model, asset):
    neutral = default_modifiers()
    moved = dict(neutral, **{"nose/nose-trans-down|up": 0.7})
    before, after = head_model.vertices(neutral), head_model.vertices(moved)
    changed = np.flatnonzero(np.abs(after - before).max(axis=1) > 1e-6)
    index, offsets = asset.targets.rows("nose/nose-trans-up")
    assert set(changed) <= set(index.tolist())
    assert (after - before)[changed, 1].mean() > 0.01  # up, in dm
    np.testing.assert_allclose(after[index] - before[index], 0.7 * offsets, atol=2e-6)
    # The opposite direction drives the other target file.
    down = head_model.vertices(dict(neutral, **{"nose/nose-trans-down|up": -0.5}))
    assert (down - before)[changed, 1].mean() < -0.005


def test_evaluation_matches_sparse_reference(head_model, asset):
    rng = np.random.default_rng(3)
    modifiers = default_modifiers()
    modifiers.update({"macrodetails/Gender": 0.8, "macrodetails/Age": 0.3, "macrodetails-universal/Weight": 0.9})
    for name in rng.choice(schema.face_modifiers(), size=40, replace=False):
        modifiers[str(name)] = float(rng.uniform(-1, 1))
    pairs = list(modifiers.items())
    weights = macro_target_weights(pairs) | face_target_weights(pairs)
    np.testing.assert_allclose(head_model.vertices(modifiers), _sparse_sum(asset, weights), atol=2e-5)


def test_age_anchors():
    assert age_token_weights(0.0) == {"baby": 1.0, "child": 0.0, "young": 0.0, "old": 0.0}
    assert age_token_weights(0.5) == {"baby": 0.0, "child": 0.0, "young": 1.0, "old": 0.0}
    assert age_token_weights(1.0)["old"] == 1.0
    at_child = age_token_weights(0.1875)
    assert at_child["child"] == pytest.approx(1.0, abs=1e-4)  # MakeHuman's 5.333 leaves 6e-5 of baby
    assert at_child["young"] == 0.0
    mid = age_token_weights(0.75)
    assert mid["young"] == pytest.approx(0.5)
    assert mid["old"] == pytest.approx(0.5)


def test_macro_anchor_is_single_target(head_model, asset):
    recipe = {"macrodetails/Gender": 1.0, "macrodetails/Age": 0.5, "macrodetails/African": 0.0,
              "macrodetails/Asian": 0.0, "macrodetails/Caucasian": 1.0, "macrodetails-universal/Muscle": 0.5,
              "macrodetails-universal/Weight": 0.5}
    expected = _sparse_sum(asset, {"macrodetails/caucasian-male-young": 1.0})
    np.testing.assert_allclose(head_model.vertices(recipe), expected, atol=1e-5)


def test_macro_weights_follow_line_order_and_raw_ethnic_values():
    # MakeHuman recomputes a group's weights at each of its lines, with the values known then.
    muscle_first = macro_target_weights([("macrodetails-universal/Muscle", 1.0), ("macrodetails/Gender", 1.0)])
    gender_first = macro_target_weights([("macrodetails/Gender", 1.0), ("macrodetails-universal/Muscle", 1.0)])
    key = "macrodetails/universal-male-young-maxmuscle-averageweight"
    assert muscle_first[key] == pytest.approx(0.5)
    assert gender_first[key] == pytest.approx(1.0)
    # Ethnic values are not normalised while loading.
    raw = macro_target_weights([("macrodetails/African", 0.5), ("macrodetails/Asian", 0.5),
                                ("macrodetails/Caucasian", 0.5)])
    assert raw["macrodetails/african-female-young"] == pytest.approx(0.25)
    # No macro line at all: no macro target applies.
    assert macro_target_weights([("nose/nose-trans-down|up", 0.3)]) == {}


def test_head_mesh_is_closed_outward_and_has_eyes(head_model):
    head = head_mesh()
    assert np.bincount(head.part).tolist()[1:] == [140, 140]
    points = head_model.vertices(default_modifiers())[head.vertex_ids]
    for part in (1, 2):
        tri = points[head.triangles[head.part == part]]
        normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        centre = tri.reshape(-1, 3).mean(axis=0)
        assert (((tri.mean(axis=1) - centre) * normals).sum(axis=1) > 0).all()
    assert points[:, 1].min() > HEAD_CUT_Y - 0.5  # a bust, not the body


def test_expression_opens_jaw(head_model, asset):
    neutral = head_model.vertices(default_modifiers())
    open_jaw = head_model.apply_expression(neutral, {"jawOpen": 1.0})
    index, _ = asset.expressions.rows("jawOpen")
    assert (open_jaw - neutral)[index, 1].min() < -0.1
    assert np.array_equal(np.delete(open_jaw, index, axis=0), np.delete(neutral, index, axis=0))


def test_slider_steps_reuse_the_macro_product_and_match_a_fresh_evaluation(asset):
    dragged = HeadModel(asset)
    recipe = {**default_modifiers(), "macrodetails/Gender": 0.8, "nose/nose-trans-down|up": 0.0}
    for step in (0.0, 0.3, 0.6):  # a nose slider drag: the macro weights stay, the face ones move
        recipe["nose/nose-trans-down|up"] = step
        np.testing.assert_array_equal(dragged.vertices(recipe), HeadModel(asset).vertices(recipe))
    steps = [dragged.vertices(recipe), dragged.vertices(recipe)]
    steps[0][:] = 0  # callers own what they get: editing one result leaves the next intact
    assert np.abs(steps[1]).max() > 1
    recipe["macrodetails/Gender"] = 0.2  # a macro slider: the cached product must not be reused
    np.testing.assert_array_equal(dragged.vertices(recipe), HeadModel(asset).vertices(recipe))
