"""MakeHuman's macro rule: macro modifier values -> weight of each macro target file.

Every macro target file name is a list of tokens (race, gender, age, muscle, weight); each token
has a weight computed from the current macro values and a file's weight is the product of its
tokens' weights. MakeHuman's .mhm loader recomputes a macro group's file weights each time it
reads one of that group's modifier lines, with the values known at that moment, and it does not
normalise the three ethnic values until after the whole file is read. So the result depends on
line order and on raw (not normalised) ethnic values; `macro_target_weights` replays that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from f2p_engine.headmodel.schema import MACRO_MODIFIERS

RACES = ("african", "asian", "caucasian")
GENDERS = ("female", "male")
AGES = ("baby", "child", "young", "old")
LEVELS = ("min", "average", "max")
#: MakeHuman 1.1's Age slider value -> years, piecewise linear between these anchors.
AGE_ANCHORS = ((0.0, 1.0), (0.1875, 11.0), (0.5, 25.0), (1.0, 90.0))

#: Modifier -> (macro variable it sets, the target group whose weights it recomputes).
#: Height, proportions and breast groups are not applied by f2p (see MakeHuman facts): at their
#: defaults they contribute nothing in MakeHuman either.
_MACRO_VARIABLES = {
    "macrodetails/Gender": ("gender", "macrodetails"),
    "macrodetails/Age": ("age", "macrodetails"),
    "macrodetails/African": ("african", "macrodetails"),
    "macrodetails/Asian": ("asian", "macrodetails"),
    "macrodetails/Caucasian": ("caucasian", "macrodetails"),
    "macrodetails-universal/Muscle": ("muscle", "macrodetails-universal"),
    "macrodetails-universal/Weight": ("weight", "macrodetails-universal"),
}
APPLIED_MACROS = frozenset(_MACRO_VARIABLES)
IGNORED_MACROS = frozenset(MACRO_MODIFIERS) - APPLIED_MACROS
DEFAULTS = {"gender": 0.5, "age": 0.5, "african": 1 / 3, "asian": 1 / 3, "caucasian": 1 / 3,
            "muscle": 0.5, "weight": 0.5}


def race_gender_age_targets() -> list[str]:
    return [f"macrodetails/{r}-{g}-{a}" for r in RACES for g in GENDERS for a in AGES]


def universal_targets() -> list[str]:
    return [f"macrodetails/universal-{g}-{a}-{m}muscle-{w}weight"
            for g in GENDERS for a in AGES for m in LEVELS for w in LEVELS]


def macro_targets() -> list[str]:
    """Every macro target file the head model applies, in asset order."""
    return race_gender_age_targets() + universal_targets()


def age_from_years(years: float) -> float:
    """MakeHuman's Age slider value for an age in years (clipped to the slider's 1..90 years)."""
    values, ages = zip(*AGE_ANCHORS, strict=True)
    return float(np.interp(years, ages, values))


def years_from_age(age: float) -> float:
    """Years an Age slider value stands for (the inverse of `age_from_years`)."""
    values, ages = zip(*AGE_ANCHORS, strict=True)
    return float(np.interp(age, values, ages))


def _three_level(value: float) -> dict[str, float]:
    high = max(0.0, value * 2 - 1)
    low = max(0.0, 1 - value * 2)
    return {"min": low, "average": 1 - (high + low), "max": high}


def age_token_weights(age: float) -> dict[str, float]:
    """MakeHuman 1.1's piecewise-linear age anchors (its constants 5.333 and 3.2 kept as they are)."""
    if age < 0.5:
        young = max(0.0, (age - 0.1875) * 3.2)
        return {"baby": max(0.0, 1 - age * 5.333), "child": max(0.0, min(1.0, 5.333 * age) - young),
                "young": young, "old": 0.0}
    old = max(0.0, age * 2 - 1)
    return {"baby": 0.0, "child": 0.0, "young": 1 - old, "old": old}


def group_weights(group: str, values: Mapping[str, float]) -> dict[str, float]:
    """Weights of every file of one macro target group for the given macro variable values."""
    gender = {"female": 1 - values["gender"], "male": values["gender"]}
    age = age_token_weights(values["age"])
    if group == "macrodetails":
        return {f"macrodetails/{r}-{g}-{a}": values[r] * gender[g] * age[a]
                for r in RACES for g in GENDERS for a in AGES}
    muscle = _three_level(values["muscle"])
    weight = _three_level(values["weight"])
    return {f"macrodetails/universal-{g}-{a}-{m}muscle-{w}weight": gender[g] * age[a] * muscle[m] * weight[w]
            for g in GENDERS for a in AGES for m in LEVELS for w in LEVELS}


def macro_target_weights(modifiers: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Replay MakeHuman's loader over (modifier, value) pairs in file order -> macro file weights.

    Files of a group none of whose modifiers appear get no weight at all, as in MakeHuman.
    """
    values = dict(DEFAULTS)
    weights: dict[str, float] = {}
    for name, value in modifiers:
        entry = _MACRO_VARIABLES.get(name)
        if entry is None:
            continue
        variable, group = entry
        values[variable] = min(1.0, max(0.0, float(value)))
        weights.update(group_weights(group, values))
    return weights
