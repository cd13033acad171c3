"""scripts/expression_invariance.py: the ratio it reports and the expressions it draws."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))

from expression_invariance import expression_draws, invariance, photo_invariance


def test_invariance_is_the_expression_spread_over_the_people_spread():
    rng = np.random.default_rng(0)
    people = rng.normal(0.0, 0.2, size=(400, 1, 3))
    expressions = rng.normal(0.0, 0.05, size=(400, 12, 3))
    result = invariance(people + expressions)
    # Within a recipe the spread is the expressions' (0.05, less the 1/12 the mean takes); across recipes 0.2.
    assert result["median_ratio"] == pytest.approx(0.05 * np.sqrt(11 / 12) / 0.2, rel=0.1)
    assert result["pooled_ratio"] == pytest.approx(result["median_ratio"], rel=0.1)
    assert invariance(np.repeat(people, 5, axis=1))["pooled_ratio"] < 1e-9


def test_expressions_are_never_neutral_and_repeat_per_recipe():
    draws = expression_draws(20, 3)
    assert len(draws) == 20
    assert all(1 <= len(d) <= 3 for d in draws)
    assert draws == expression_draws(20, 3)
    assert draws != expression_draws(20, 4)


def test_photo_invariance_is_one_persons_spread_over_the_others():
    rng = np.random.default_rng(1)
    others = rng.normal(0.0, 0.2, size=(2000, 4))
    person = 0.3 + rng.normal(0.0, 0.1, size=(2000, 4))
    result = photo_invariance(person, others)
    assert result["median_ratio"] == pytest.approx(0.5, rel=0.05)
    assert result["pooled_ratio"] == pytest.approx(0.5, rel=0.05)
    assert result["photos"] == 2000
