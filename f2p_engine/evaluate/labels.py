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

#: Attribute column -> the values a label may take (besides "unsure").
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "gender": ("female", "male"),
    "age": ("child", "15-39", "40-59", "60+"),
    "skin": ("light", "medium", "dark"),
    "eyes": ("light", "dark"),
    "beard": ("yes", "no"),
    "hair": ("none", "short", "medium", "long"),
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
