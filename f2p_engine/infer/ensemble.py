"""Combining aggregate and local predictions (numpy): per parameter w * aggregate + (1 - w) * local.

Predictions are batched: continuous arrays are (N, 111) float in schema order, discrete ones
(N, K) probabilities per group. A parameter no local model predicts is NaN in the local array and
takes the aggregate prediction whatever its weight.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from f2p_engine.headmodel import schema
from f2p_engine.nets.spec import OutputLayout


def assemble_local(outputs: Mapping[str, np.ndarray], layouts: Mapping[str, OutputLayout]) -> np.ndarray:
    """Scatter local models' continuous outputs ((N, P_model) each) into one (N, 111) array, NaN elsewhere."""
    count = len(next(iter(outputs.values()))) if outputs else 0
    local = np.full((count, len(schema.CONTINUOUS)), np.nan)
    for name, values in outputs.items():
        local[:, layouts[name].param_indices] = values
    return local


def weight_vector(weights: Mapping[str, float]) -> np.ndarray:
    """(111,) float64 aggregate weights in schema order; a parameter without an entry gets 1."""
    return np.asarray([weights.get(p.name, 1.0) for p in schema.CONTINUOUS], dtype=np.float64)


def combine(aggregate: np.ndarray, local: np.ndarray, weights: np.ndarray | float) -> np.ndarray:
    """w * aggregate + (1 - w) * local where a local prediction exists, else aggregate; (N, P) float64."""
    aggregate = np.asarray(aggregate, dtype=np.float64)
    mixed = weights * aggregate + (1.0 - np.asarray(weights)) * local
    return np.where(np.isnan(local), aggregate, mixed)
