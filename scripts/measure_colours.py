#!/usr/bin/env python3
"""Measured skin tone and eye colour of every face in photos, and their agreement with hand labels.

One line per face: photo, face centre, tone, ITA of the corrected skin, eye colour, and doubts.
With --labels (a CSV like scripts/face_labels.csv: file, x, y, skin, eyes; x and y the face centre in a
group photo, empty for a photo's only face), it also reports, per labelled tone group and per eye group,
how many faces the measurement put in the labelled class. Faces labelled "unsure" are left out; a label
with no detected face near it counts as missed.
Usage: python scripts/measure_colours.py PHOTO... [--labels CSV] [--largest]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from f2p_engine.face.colour import TONES, ColourReading, measure_colours
from f2p_engine.face.detect import Detection, detect_faces
from f2p_engine.face.image import load_image


def read_labels(path: Path) -> dict[str, list[dict[str, str]]]:
    """file name -> its label rows."""
    rows = csv.DictReader(line for line in path.read_text().splitlines() if not line.startswith("#"))
    labels: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        labels[row["file"]].append(row)
    return labels


def centre(face: Detection) -> np.ndarray:
    return np.array([(face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2])


def labelled_face(row: dict[str, str], faces: list[tuple[Detection, ColourReading]]
                  ) -> tuple[Detection, ColourReading] | None:
    """The face a label row means: the nearest to its centre (within a face width), else the largest."""
    if not faces:
        return None
    if not row.get("x"):
        return faces[0]
    point = np.array([float(row["x"]), float(row["y"])])
    face = min(faces, key=lambda f: float(np.linalg.norm(centre(f[0]) - point)))
    return face if np.linalg.norm(centre(face[0]) - point) < face[0].box[2] - face[0].box[0] else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--labels", type=Path, help="hand labels (CSV) to compare with")
    parser.add_argument("--largest", action="store_true", help="only each photo's largest face")
    args = parser.parse_args(argv)
    labels = read_labels(args.labels) if args.labels else {}
    # group -> [right, total] for skin tone (light/medium/dark) and eyes (light/dark).
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path in args.photos:
        image = load_image(path)
        detections = detect_faces(image)
        faces = [(d, measure_colours(image, d)) for d in (detections[:1] if args.largest else detections)]
        for face, reading in faces:
            x, y = centre(face)
            print(f"{path.name} ({x:.0f}, {y:.0f}): {reading.describe()}")
        for row in labels.get(path.name, []):
            found = labelled_face(row, faces)
            if row["skin"] in TONES:
                right = found is not None and found[1].tone == row["skin"]
                tally[f"skin {row['skin']}"][0] += right
                tally[f"skin {row['skin']}"][1] += 1
            if row["eyes"] in ("light", "dark"):
                right = found is not None and found[1].eye_light == (row["eyes"] == "light")
                tally[f"eyes {row['eyes']}"][0] += right
                tally[f"eyes {row['eyes']}"][1] += 1
    if labels:
        for group in [f"skin {t}" for t in TONES] + ["eyes light", "eyes dark"]:
            right, total = tally[group]
            share = f"{100 * right / total:.0f} %" if total else "-"
            print(f"{group}: {right} of {total} right ({share})")
        eyes = [tally["eyes light"], tally["eyes dark"]]
        total = sum(t for _, t in eyes)
        if total:
            print(f"eyes light/dark: {sum(r for r, _ in eyes)} of {total} right "
                  f"({100 * sum(r for r, _ in eyes) / total:.0f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
