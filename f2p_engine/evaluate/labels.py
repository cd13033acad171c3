"""Hand labels of face attributes (scripts/face_labels.csv) and their matching to detected faces.

A label file is a CSV (`#` lines are comments) with a `file` column, optional `x`,`y` (the face's
centre in pixels, for photos with several faces) and any of the attribute columns of `ATTRIBUTES`;
a value "unsure" (or an empty cell) means the face does not show it, and the attribute is left out.
A label without a centre belongs to its photo's largest face; one with a centre to the face whose
box centre is nearest, if that is within the box's width.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from f2p_engine.errors import InputError
from f2p_engine.headmodel import schema
from f2p_engine.headmodel.macro import years_from_age

#: Attribute column -> the values a label may take (besides "unsure").
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "gender": ("female", "male"),
    "age": ("child", "15-39", "40-59", "60+"),
    "skin": ("light", "medium", "dark"),
    "eyes": ("light", "dark"),
    "beard": ("yes", "no"),
    "hair": ("none", "short", "medium", "long"),
    "hair_colour": ("dark", "light", "red", "grey"),
}
UNSURE = "unsure"


@dataclass(frozen=True, slots=True, kw_only=True)
class FaceLabel:
    """One labelled face: photo `file` name, `centre` (x, y) in its pixels or None (its largest face),
    and `values`: attribute -> labelled value, attributes marked unsure left out."""

    file: str
    centre: tuple[float, float] | None
    values: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectedFace:
    """Where a face was found: its key (as the likeness report names it), photo `file` name, box
    `centre` (x, y) and box `width`, in the photo's pixels."""

    key: str
    file: str
    centre: tuple[float, float]
    width: float


def _cell(row: Mapping[str, str | None], column: str) -> str:
    return (row.get(column) or "").strip()


def read_face_labels(path: str | os.PathLike[str]) -> list[FaceLabel]:
    """The labels of a CSV file (see the module doc). InputError for an unreadable file, a row
    without a file, a half-given centre or a value not in `ATTRIBUTES`."""
    path = Path(path)
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    labels = []
    for number, row in enumerate(csv.DictReader(lines), start=2):
        file = Path(_cell(row, "file")).name
        x, y = _cell(row, "x"), _cell(row, "y")
        if not file or bool(x) != bool(y):
            raise InputError(f"{path}: row {number} needs a file (and both x and y or neither), got {row}")
        values = {}
        for attribute, allowed in ATTRIBUTES.items():
            value = _cell(row, attribute)
            if value in ("", UNSURE):
                continue
            if value not in allowed:
                raise InputError(f"{path}: row {number}: {attribute} must be one of "
                                 f"{', '.join((*allowed, UNSURE))}, got {value!r}")
            values[attribute] = value
        try:
            centre = (float(x), float(y)) if x else None
        except ValueError:
            raise InputError(f"{path}: row {number}: x and y must be numbers, got {x!r}, {y!r}") from None
        labels.append(FaceLabel(file=file, centre=centre, values=values))
    return labels


def match_labels(faces: Sequence[DetectedFace], labels: Sequence[FaceLabel]) -> dict[str, FaceLabel]:
    """face key -> its label. `faces` of one photo come largest first (as `detect_faces` orders
    them); a label without a centre takes its photo's first face, one with a centre the nearest
    face within that face's box width. Faces without a label are left out."""
    by_file: dict[str, list[DetectedFace]] = {}
    for face in faces:
        by_file.setdefault(face.file, []).append(face)
    matched = {}
    for label in labels:
        candidates = by_file.get(label.file, [])
        if not candidates:
            continue
        if label.centre is None:
            matched[candidates[0].key] = label
            continue
        nearest = min(candidates, key=lambda f: _distance(f.centre, label.centre))
        if _distance(nearest.centre, label.centre) <= nearest.width:
            matched[nearest.key] = label
    return matched


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5)


@dataclass(frozen=True, slots=True, kw_only=True)
class PredictedAttributes:
    """What a reconstruction shows, in the labels' terms: `gender` and `age` (MakeHuman slider
    values), `skin` (light | medium | dark, `skin_tone`), `eyes` (light | dark, `eye_tone`), `hair`
    (none | short | medium | long, `hair_length`), `beard` (yes | no, `has_beard`) and `hair_colour`
    (dark | light | red | grey, `hair_tone`)."""

    gender: float
    age: float
    skin: str
    eyes: str
    hair: str
    beard: str
    hair_colour: str


#: Skin material -> tone class, by the material's ethnic word (the schema's tone -> skin family, inverted).
SKIN_TONES = {ethnic: tone for tone, ethnic in schema.SKIN_ETHNIC_BY_TONE.items()}
#: Eye material -> light | dark.
EYE_TONES = {"brown": "dark", "brownlight": "dark", "green": "light", "blue": "light", "lightblue": "light",
             "deepblue": "light"}
#: Hair style -> the labels' length (none; short: above the ears; medium: to the chin or shoulders; long:
#: past the shoulders), as each system hair looks on the default head (afro01 is a short crop with volume;
#: braid01 and ponytail01 hang past the shoulders behind the head).
HAIR_LENGTHS = {schema.NO_HAIR: "none", "afro01": "short", "bob01": "medium", "bob02": "medium", "braid01": "long",
                "long01": "long", "ponytail01": "long", "short01": "short", "short02": "short", "short03": "short",
                "short04": "short"}
#: Hair colour -> the labels' class.
HAIR_TONES = {"black": "dark", "dark_brown": "dark", "light_brown": "light", "blonde": "light", "red": "red",
              "grey": "grey", "white": "grey"}
#: Age bracket labels -> [from, to) years.
AGE_BRACKETS = {"child": (0.0, 15.0), "15-39": (15.0, 40.0), "40-59": (40.0, 60.0), "60+": (60.0, float("inf"))}
#: A face looks clearly male or female when its Gender is at least this far from 0.5.
DECISIVE = 0.3
#: Children (< 15 years) should get an Age below this (MakeHuman: 0.1875 = 11 years).
CHILD_AGE = 0.19


def skin_tone(material: str) -> str:
    """light | medium | dark of a skin material name (`SKIN_TONES`; "light" for the default skin)."""
    return next((tone for word, tone in SKIN_TONES.items() if word in material), "light")


def eye_tone(material: str) -> str:
    """light | dark of an eye material name (`EYE_TONES`)."""
    return EYE_TONES.get(material, "dark")


def hair_length(hair: str) -> str:
    """none | short | medium | long of a hair option (`HAIR_LENGTHS`)."""
    return HAIR_LENGTHS[hair]


def hair_tone(colour: str) -> str:
    """dark | light | red | grey of a hair colour option (`HAIR_TONES`)."""
    return HAIR_TONES[colour]


def has_beard(beard: str) -> str:
    """yes | no of a beard option: stubble counts, as the labels count heavy stubble."""
    return "no" if beard == schema.BEARDS[0] else "yes"


def age_bracket(years: float) -> str:
    return next(name for name, (low, high) in AGE_BRACKETS.items() if low <= years < high)


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    """One check over the faces it applies to: how many (`faces`), the share right (None without
    any) and the keys of the faces it got wrong."""

    faces: int
    right: float | None
    wrong: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"faces": self.faces, "right": self.right, "wrong": list(self.wrong)}


def _agreement(checks: Mapping[str, bool]) -> Agreement:
    wrong = tuple(sorted(key for key, ok in checks.items() if not ok))
    return Agreement(faces=len(checks), right=1.0 - len(wrong) / len(checks) if checks else None, wrong=wrong)


def _checks(predicted: Mapping[str, PredictedAttributes], labels: Mapping[str, FaceLabel]
            ) -> dict[str, dict[str, bool]]:
    """check name -> face key -> right?, for every face labelled for that check."""
    checks: dict[str, dict[str, bool]] = {name: {} for name in ("gender", "decisive gender", "age bracket",
                                                                 "child age", "skin tone", "eye colour",
                                                                 "hair length", "beard", "hair colour")}
    for key, face in predicted.items():
        label = labels.get(key)
        values = label.values if label is not None else {}
        if "gender" in values:
            checks["gender"][key] = (face.gender >= 0.5) == (values["gender"] == "male")
            checks["decisive gender"][key] = abs(face.gender - 0.5) >= DECISIVE
        if "age" in values:
            checks["age bracket"][key] = age_bracket(years_from_age(face.age)) == values["age"]
            if values["age"] == "child":
                checks["child age"][key] = face.age < CHILD_AGE
        if "skin" in values:
            checks["skin tone"][key] = face.skin == values["skin"]
        if "eyes" in values:
            checks["eye colour"][key] = face.eyes == values["eyes"]
        if "hair" in values:
            checks["hair length"][key] = face.hair == values["hair"]
        if "beard" in values:
            checks["beard"][key] = face.beard == values["beard"]
        if "hair_colour" in values:
            checks["hair colour"][key] = face.hair_colour == values["hair_colour"]
    return checks


#: Groups the agreement is also reported for: name -> (attribute, labelled value).
GROUPS = {"women": ("gender", "female"), "men": ("gender", "male"), "light skin": ("skin", "light"),
          "medium skin": ("skin", "medium"), "dark skin": ("skin", "dark")}


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeAgreement:
    """Agreement of the reconstructions with the hand labels: `labelled` faces matched to a label;
    `overall`: check -> `Agreement` (gender right side of 0.5; decisive gender |Gender - 0.5| >= 0.3;
    age bracket; child age < 0.19 for children; skin tone class; eye colour light/dark; hair length;
    beard yes/no; hair colour class);
    `groups`: group (`GROUPS`) -> check -> `Agreement` over the faces of that group."""

    labelled: int
    overall: Mapping[str, Agreement]
    groups: Mapping[str, Mapping[str, Agreement]]

    def to_json(self) -> dict[str, object]:
        return {"labelled": self.labelled, "overall": {c: a.to_json() for c, a in self.overall.items()},
                "groups": {g: {c: a.to_json() for c, a in checks.items()} for g, checks in self.groups.items()}}


def attribute_agreement(predicted: Mapping[str, PredictedAttributes], labels: Mapping[str, FaceLabel]
                        ) -> AttributeAgreement:
    """Every check of `AttributeAgreement` for face key -> prediction, with face key -> label (`match_labels`)."""
    checks = _checks(predicted, labels)
    groups = {}
    for group, (attribute, value) in GROUPS.items():
        members = {key for key in predicted if key in labels and labels[key].values.get(attribute) == value}
        groups[group] = {name: _agreement({k: ok for k, ok in by_face.items() if k in members})
                         for name, by_face in checks.items()}
    return AttributeAgreement(labelled=sum(key in labels for key in predicted),
                              overall={name: _agreement(by_face) for name, by_face in checks.items()},
                              groups=groups)
