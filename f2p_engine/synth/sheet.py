"""Contact sheet: samples of a synthetic dataset with their region masks, for a person to check.

Each cell is the aligned image (green: mesh landmarks; white crosses: the fixed eye targets)
beside its region label image blended over it (colours `render.regions.LABEL_COLOURS`).
"""

from __future__ import annotations

import cv2
import numpy as np

from f2p_engine.render.regions import LABEL_COLOURS
from f2p_engine.synth.reader import SyntheticDataset


def sample_cell(image: np.ndarray, labels: np.ndarray, landmarks: np.ndarray, eye_targets: np.ndarray
                ) -> np.ndarray:
    """(S, 2S, 3) uint8: annotated image | label overlay."""
    left = image.copy()
    for x, y in np.round(landmarks).astype(int):
        cv2.circle(left, (int(x), int(y)), 1, (0, 255, 0), -1)
    for x, y in np.round(eye_targets).astype(int):
        cv2.drawMarker(left, (int(x), int(y)), (255, 255, 255), cv2.MARKER_CROSS, 9, 1)
    right = (0.6 * LABEL_COLOURS[labels] + 0.4 * image).astype(np.uint8)
    return np.hstack([left, right])


def contact_sheet(dataset: SyntheticDataset, count: int = 24, columns: int = 4) -> np.ndarray:
    """(rows * S, columns * 2S, 3) uint8 RGB sheet of the first `count` samples, spaced by 2 px."""
    count = min(count, len(dataset))
    targets = np.asarray(dataset.manifest.eye_targets)
    cells = []
    for index in range(count):
        sample = dataset.sample(index)
        cell = sample_cell(np.asarray(sample["images"]), np.asarray(sample["labels"]),
                           np.asarray(sample["landmarks"]), targets)
        cells.append(cv2.copyMakeBorder(cell, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=(255, 255, 255)))
    blank = np.full_like(cells[0], 255)
    cells += [blank] * (-len(cells) % columns)
    rows = [np.hstack(cells[i:i + columns]) for i in range(0, len(cells), columns)]
    return np.vstack(rows)
