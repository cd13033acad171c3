"""Fusion on synthetic data: other views of one recipe, and `f2p evaluate --fusion` with the shipped models."""

import json

import numpy as np
import pytest

from f2p_engine.cli import main
from f2p_engine.headmodel import schema
from f2p_engine.synth.factory import SampleFactory


@pytest.fixture(scope="module")
def factory():
    return SampleFactory(64)


def test_views_render_one_recipe_under_other_conditions(factory):
    first, again, other = factory.make(5, 2), factory.make(5, 2, view=0), factory.make(5, 2, view=1)
    np.testing.assert_array_equal(first.image, again.image)  # view 0 is the dataset's own sample
    np.testing.assert_array_equal(first.continuous, other.continuous)
    assert first.recipe.modifiers == other.recipe.modifiers
    assert not np.array_equal(first.pose, other.pose)
    assert np.abs(first.image.astype(int) - other.image.astype(int)).mean() > 5


def test_evaluate_fusion_reports_single_and_fused_l1_per_region(tmp_path):
    out = tmp_path / "report"
    assert main(["evaluate", "--fusion", "2", "--fusion-seed", "7", "-o", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    fusion = metrics["fusion"]
    assert (fusion["recipes"], fusion["views"], fusion["seed"]) == (2, 3, 7)
    assert set(fusion["regions"]) == set(schema.REGIONS)
    for row in fusion["regions"].values():
        assert 0 < row["fused_l1"] < 0.5
        assert 0 < row["single_l1"] < 0.5
    goal = "3 renders fused: L1 below the mean single-render L1 in every region"
    assert metrics["goals"][goal] == all(r["fused_l1"] < r["single_l1"] for r in fusion["regions"].values())
    assert "## Fusion of several renders of one recipe" in (out / "report.md").read_text()

