"""Test doubles for app tests: engine predictions without trained models."""

from collections.abc import Mapping
from concurrent.futures import Future

import numpy as np

from f2p_engine.face.colour import ColourReading
from f2p_engine.face.reading import PhotoReading, resolved
from f2p_engine.headmodel import schema
from f2p_engine.infer.pipeline import MEASURED, MEASURED_GROUPS, Prediction, with_colours
from f2p_engine.recipe import Recipe


def prediction_of(recipe: Recipe, confidence: Mapping[str, float], colours: ColourReading | None = None
                  ) -> Prediction:
    """An engine `Prediction` that answers `recipe` (stands in for the ONNX ensemble's output), with the
    photo's measured `colours` set as the engine sets them."""
    continuous = np.array([p.normalise(recipe.value(p.name)) for p in schema.CONTINUOUS])
    probabilities = {g.name: np.eye(len(g.options))[g.options.index(recipe.choice(g.name))]
                     for g in schema.DISCRETE_GROUPS if g.predicted}
    if colours is not None:
        recipe, continuous, probabilities = with_colours(recipe, continuous, probabilities, colours)
    return Prediction(recipe=recipe, continuous=continuous, probabilities=probabilities,
                      confidence=dict(confidence), timings={"models": 0.001}, colours=colours,
                      sources=dict.fromkeys(MEASURED_GROUPS, MEASURED) if colours is not None else {})


def colours_read(reading: PhotoReading | Future[PhotoReading] | None) -> ColourReading | None:
    """The colours of the reading a `predict_aligned` call was given (waited for, as the engine does)."""
    reading = resolved(reading)
    return reading.colours if reading is not None else None


class FixedPredictor:
    """Stands in for the engine's `Predictor`: answers `recipe` with `confidence` for every face."""

    def __init__(self, recipe: Recipe, confidence: Mapping[str, float]) -> None:
        self.recipe, self.confidence = recipe, dict(confidence)
        self.faces = 0

    def predict_aligned(self, image: np.ndarray, landmarks: np.ndarray, base=None, *, reading=None) -> Prediction:
        self.faces += 1
        return prediction_of(self.recipe, self.confidence, colours_read(reading))
