"""The training distribution of recipes: plausible, varied faces (not every slider uniform at once).

Documented distribution (schema version 2), one independent draw per recipe:
- Gender ~ Beta(0.7, 0.7) (mostly clearly female or male, some in between).
- Age ~ U(0.375, 0.875): about 19 to 74 years (MakeHuman: 0.5 = 25 y, 1 = 90 y).
- African/Asian/Caucasian ~ Dirichlet(0.6, 0.6, 0.6): sums to 1, mostly one dominant origin.
- Muscle, Weight ~ N(0.5, 0.15) clipped to [0, 1].
- Every face slider but the head shapes ~ N(0, 0.35) clipped to [-1, 1]; of a left/right pair, the right side is drawn
  and the left is the right plus N(0, 0.05) (near-symmetric faces).
- Head shapes (`head/head-oval` ... `head/head-diamond`, independent sliders in MakeHuman): each is
  active with probability 0.15 (so a third of the heads have none, most have one or two), an active
  one ~ U(0.1, 0.9); the rest are 0, MakeHuman's default.
- Skin: the young skin of the dominant origin and gender with probability 0.8, else uniform.
- Eye colour, eyebrows and eyelashes: uniform.
- Hair (drawn after the rest, so the other values are those of generator f2p-synth-5): by gender
  (Gender >= 0.5 male), `HAIR_BY_GENDER`; colour `HAIR_COLOUR_WEIGHTS`, grey or white with
  probability `GREY_PROBABILITY` past Age 0.7 (about 50 years).
- Beard (men only): `BEARD_WEIGHTS` (none, stubble, moustache, goatee, full).
Recipe i of seed s depends only on (s, i), so shards and workers can draw in any order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import cache

import numpy as np

from f2p_engine.headmodel import schema
from f2p_engine.recipe import Recipe

#: Hair style probabilities (schema `hair` options: none, afro01, bob01, bob02, braid01, long01,
#: ponytail01, short01, short02, short03, short04), for women and for men.
HAIR_BY_GENDER = {
    "female": (0.02, 0.06, 0.12, 0.12, 0.08, 0.2, 0.14, 0.04, 0.02, 0.18, 0.02),
    "male": (0.12, 0.07, 0.01, 0.02, 0.01, 0.04, 0.02, 0.2, 0.2, 0.06, 0.25),
}
#: Hair colour probabilities (schema HAIR_COLOURS: black, dark brown, light brown, blonde, red, grey, white).
HAIR_COLOUR_WEIGHTS = (0.3, 0.3, 0.16, 0.14, 0.06, 0.03, 0.01)
GREY_PROBABILITY = 0.5
BEARD_WEIGHTS = (0.5, 0.2, 0.07, 0.08, 0.15)
SLIDER_SIGMA = 0.35
MIRROR_SIGMA = 0.05
SKIN_MATCH_PROBABILITY = 0.8
HEAD_SHAPE_PROBABILITY = 0.15
HEAD_SHAPE_RANGE = (0.1, 0.9)
HEAD_SHAPE_MODIFIERS = tuple(schema.head_shape_modifier(s) for s in schema.HEAD_SHAPES)


def _clip(value: float, low: float, high: float) -> float:
    """np.clip for one number, without its per-call overhead."""
    return min(max(float(value), low), high)


@cache
def _sliders() -> tuple[list[str], list[tuple[str, str]]]:
    """(face slider names but head shapes, (left slider, its right mirror) pairs), in schema order."""
    sliders = [p for p in schema.CONTINUOUS if p.region != "macro" and p.name not in HEAD_SHAPE_MODIFIERS]
    return ([p.name for p in sliders],
            [(p.name, p.mirror) for p in sliders if p.mirror and p.name.split("/")[1].startswith("l-")])


def sample_recipe(rng: np.random.Generator, name: str = "sample") -> Recipe:
    """One random recipe from the documented training distribution."""
    values: dict[str, float] = {
        "macrodetails/Gender": rng.beta(0.7, 0.7),
        "macrodetails/Age": rng.uniform(0.375, 0.875),
        "macrodetails-universal/Muscle": _clip(rng.normal(0.5, 0.15), 0.0, 1.0),
        "macrodetails-universal/Weight": _clip(rng.normal(0.5, 0.15), 0.0, 1.0),
    }
    origin = rng.dirichlet([0.6, 0.6, 0.6])
    values.update(zip(schema.ETHNIC_MODIFIERS, origin, strict=True))
    # One vector draw per kind: the same numbers, in the same order, as one scalar draw per slider.
    sliders, mirrored = _sliders()
    drawn = dict(zip(sliders, np.clip(rng.normal(0.0, SLIDER_SIGMA, len(sliders)), -1.0, 1.0).tolist(), strict=True))
    jitter = rng.normal(0.0, MIRROR_SIGMA, len(mirrored)).tolist()
    for (left, right), offset in zip(mirrored, jitter, strict=True):
        drawn[left] = _clip(drawn[right] + offset, -1.0, 1.0)
    values.update(drawn)

    active = rng.random(len(HEAD_SHAPE_MODIFIERS)) < HEAD_SHAPE_PROBABILITY
    strengths = rng.uniform(*HEAD_SHAPE_RANGE, len(HEAD_SHAPE_MODIFIERS))
    values.update(zip(HEAD_SHAPE_MODIFIERS, np.where(active, strengths, 0.0).tolist(), strict=True))
    if rng.random() < SKIN_MATCH_PROBABILITY:
        race = ("african", "asian", "caucasian")[int(np.argmax(origin))]
        skin = schema.skin_option(race, values["macrodetails/Gender"], values["macrodetails/Age"])
    else:
        skin = schema.SKINS[rng.integers(len(schema.SKINS))]
    eye_colour = schema.EYE_COLOURS[rng.integers(len(schema.EYE_COLOURS))]
    eyebrows = list(schema.EYEBROWS)[rng.integers(len(schema.EYEBROWS))]
    uid = str(uuid.UUID(bytes=rng.bytes(16), version=4))
    looks = _sample_looks(rng, male=values["macrodetails/Gender"] >= 0.5, old=values["macrodetails/Age"] > 0.7)

    # No tags: MakeHuman 1.2/1.3 read a v1.1 file's `tags` line as the character's name.
    recipe = Recipe(name=name, uuid=uid)
    recipe = recipe.with_choice("skin", skin)
    recipe = recipe.with_choice("eye_colour", eye_colour).with_choice("eyebrows", eyebrows)
    for group, option in looks.items():
        recipe = recipe.with_choice(group, option)
    # Six decimals: what MakeHuman itself writes, so the .mhm holds exactly the sampled values.
    return recipe.with_values({k: round(float(v), 6) for k, v in values.items()})


def _sample_looks(rng: np.random.Generator, *, male: bool, old: bool) -> dict[str, str]:
    """Hair style, hair colour, beard and eyelashes of one recipe."""
    hair_options = schema.discrete_by_name()["hair"].options
    hair = hair_options[rng.choice(len(hair_options), p=HAIR_BY_GENDER["male" if male else "female"])]
    if old and rng.random() < GREY_PROBABILITY:
        colour = ("grey", "white")[int(rng.random() < 0.3)]
    else:
        colour = schema.HAIR_COLOURS[rng.choice(len(schema.HAIR_COLOURS), p=HAIR_COLOUR_WEIGHTS)]
    beard = schema.BEARDS[rng.choice(len(schema.BEARDS), p=BEARD_WEIGHTS)] if male else schema.BEARDS[0]
    eyelashes = list(schema.EYELASHES)[rng.integers(len(schema.EYELASHES))]
    return {"hair": hair, "hair_colour": colour, "beard": beard, "eyelashes": eyelashes}


def recipe_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of recipe `index` for `seed` (independent of every other index)."""
    return np.random.default_rng([seed, index])


def recipe_at(seed: int, index: int) -> Recipe:
    """Recipe `index` of `seed`, named `f2p_<seed>_<index>`: the same in `f2p sample` and the dataset."""
    return sample_recipe(recipe_rng(seed, index), name=f"f2p_{seed}_{index:06d}")


def sample_recipes(count: int, seed: int, start: int = 0) -> Iterator[Recipe]:
    for index in range(start, start + count):
        yield recipe_at(seed, index)


def prior_spread(count: int = 4000, seed: int = 0) -> np.ndarray:
    """(P,) standard deviation of every continuous parameter (schema order, normalised [0, 1] units)
    over `count` recipes of the training distribution: the spread across people the models learn."""
    units = np.array([[p.normalise(r.value(p.name)) for p in schema.CONTINUOUS] for r in sample_recipes(count, seed)])
    return units.std(axis=0)
