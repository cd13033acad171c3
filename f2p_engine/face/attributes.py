"""The macro member: gender and age read from a face by networks trained on real faces.

dlib-models' Cydral gender and age networks (CC0 weights, ONNX in `resources/attributes/`, put
there by `scripts/extract_attribute_models.py`; every file sha256-checked before onnxruntime sees
it) read dlib face chips cut by `chips.face_chip`: gender 32 px, age 64 px, both padding 0.2 (the
padding dlib-models documents; 0.1, 0.25, 0.3 and 0.4 measured no better on the labelled dev
photos and CelebA crops). Input: RGB minus the channel means, / 256, NCHW float32. Outputs:
softmax [female, male] and softmax over 81 ages (0.25, 1, 2, ... 80 years).

These networks read renders badly, so the rule that turns their output into MakeHuman's sliders
is fixed, not fitted on renders (`FaceAttributes.gender_value`, `.age_value`): Gender = P(male)
clipped to [0.05, 0.95] (a confident reading gives a clearly male or female head, the CNN
members' training prior is mostly near 0 or 1 too); Age = the expected years through MakeHuman's
piecewise-linear age map (`headmodel.macro.age_from_years`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from f2p_engine.errors import AssetError
from f2p_engine.face.chips import face_chip
from f2p_engine.face.sessions import verified_session
from f2p_engine.files import resources_dir
from f2p_engine.headmodel.macro import age_from_years

#: Margin of the face chips around dlib's mean face, as a fraction of its width.
CHIP_PADDING = 0.2
#: Gender slider range the member's P(male) is clipped to.
GENDER_RANGE = (0.05, 0.95)
#: Years of the age network's 81 classes.
AGE_CLASSES = np.array([0.25, *range(1, 81)], dtype=np.float64)
_REBUILD = "rebuild with scripts/extract_attribute_models.py"


@dataclass(frozen=True, slots=True, kw_only=True)
class FaceAttributes:
    """What the networks read from one face: `male` P(male) in [0, 1]; `years` expected age and
    `years_spread` the standard deviation of the age distribution, in years."""

    male: float
    years: float
    years_spread: float

    @property
    def gender_value(self) -> float:
        """MakeHuman's Gender slider (0 female, 1 male) by the fixed rule of the module doc."""
        return float(np.clip(self.male, *GENDER_RANGE))

    @property
    def age_value(self) -> float:
        """MakeHuman's Age slider (0 = 1 year, 0.5 = 25, 1 = 90) of the expected age."""
        return age_from_years(self.years)

    @property
    def gender_confidence(self) -> float:
        """|2 P(male) - 1|: 0 when the network cannot tell, 1 when it is sure."""
        return abs(2.0 * self.male - 1.0)

    @property
    def age_confidence(self) -> float:
        """1 / (1 + spread / 10 years): 0.5 when the age distribution spreads 10 years either way."""
        return 1.0 / (1.0 + self.years_spread / 10.0)


def attribute_models_dir() -> Path:
    return resources_dir() / "attributes"


@dataclass(frozen=True, slots=True)
class _Networks:
    gender: Any
    age: Any
    means: np.ndarray
    scale: float
    gender_side: int
    age_side: int


@functools.cache
def _networks(directory: Path) -> _Networks:
    path = directory / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
        entries = manifest["models"]
        means, scale = np.asarray(manifest["input"]["channel_means"], np.float32), float(manifest["input"]["scale"])
    except (OSError, ValueError, KeyError) as exc:
        raise AssetError(f"{path}: attribute model manifest missing or unreadable ({exc}); {_REBUILD}") from None
    sessions = {name: verified_session(directory / entries[name]["file"], entries[name]["sha256"],
                                       kind="attribute model", manifest=path, remedy=_REBUILD)
                for name in ("gender", "age")}
    return _Networks(gender=sessions["gender"], age=sessions["age"], means=means, scale=scale,
                     gender_side=int(entries["gender"]["chip_side"]), age_side=int(entries["age"]["chip_side"]))


def load_attribute_models() -> None:
    """Verify and load the networks now (~0.1 s) rather than on the first face."""
    _networks(attribute_models_dir())


def _batch(chip: np.ndarray, networks: _Networks) -> np.ndarray:
    return ((chip.astype(np.float32) - networks.means) * np.float32(networks.scale)).transpose(2, 0, 1)[None]


def read_attributes(pixels: np.ndarray, landmarks: np.ndarray) -> FaceAttributes:
    """Gender and age of the face with (68, 2) pixel `landmarks` (dlib order) in (H, W, 3) uint8 RGB
    `pixels`: a photo or an aligned face, before any domain adapter (the networks know real photos)."""
    networks = _networks(attribute_models_dir())
    gender_chip = face_chip(pixels, landmarks, networks.gender_side, CHIP_PADDING)
    age_chip = face_chip(pixels, landmarks, networks.age_side, CHIP_PADDING)
    (female_male,) = networks.gender.run(None, {"images": _batch(gender_chip, networks)})
    (ages,) = networks.age.run(None, {"images": _batch(age_chip, networks)})
    ages = ages[0].astype(np.float64)
    years = float(ages @ AGE_CLASSES)
    spread = float(np.sqrt(max(0.0, ages @ (AGE_CLASSES - years) ** 2)))
    return FaceAttributes(male=float(female_male[0, 1]), years=years, years_spread=spread)
