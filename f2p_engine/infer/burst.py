"""Burst capture: several predictions of the same face (webcam frames) -> one steadier `Prediction`.

A burst is a fusion of predictions of one face (`infer.fusion`, shared with `f2p predict --fuse`):
a blink lowers only the eyes' weight of that frame. Pure numpy, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.infer.fusion import fuse_predictions, region_weights, sum_timings
from f2p_engine.infer.pipeline import Prediction
from f2p_engine.recipe import Recipe

__all__ = ["combine_burst", "region_weights", "steadiest_frame", "sum_timings"]


def combine_burst(predictions: Sequence[Prediction], base: Recipe | None = None) -> Prediction:
    """One prediction from a burst of predictions of the same face (`fusion.fuse_predictions`).
    InputError if `predictions` is empty."""
    if not predictions:
        raise InputError("no frame of the burst gave a prediction")
    return fuse_predictions(predictions, base).prediction


def steadiest_frame(predictions: Sequence[Prediction]) -> int:
    """Index of the frame the models were surest of (highest mean confidence over its regions): the
    frame to show for a burst. InputError if `predictions` is empty."""
    if not predictions:
        raise InputError("no frame of the burst gave a prediction")
    means = [float(np.mean(list(p.confidence.values()))) if p.confidence else 0.0 for p in predictions]
    return int(np.argmax(means))
