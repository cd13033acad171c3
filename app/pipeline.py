"""The app's one door to the engine's photo pipeline and predictor.

`process_photo` runs in a worker thread (no Qt here): photo -> detection, alignment, adapted
("stylised") image, region crops -> prediction. The engine stages it needs
(`f2p_engine.face` detection and crops, `f2p_engine.adapt`, `f2p_engine.infer`) are not in this
build yet; until they are, it reports `NotIntegrated` in the result and the app keeps working
as a recipe editor. Integration replaces the bodies of `analyse_photo`, `predict` and `adapters`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from app.state import Photo, PhotoAnalysis
from f2p_engine.errors import F2PError
from f2p_engine.recipe import Recipe

#: Shown wherever pipeline output would be.
NOT_INTEGRATED = "no photo pipeline in this build yet"


class NotIntegrated(F2PError):
    """An engine stage the app needs is not part of this build."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Prediction:
    """A predicted recipe with a confidence in [0, 1] per region."""

    recipe: Recipe
    confidence: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoRequest:
    """One run of the pipeline; `id` grows with every request so stale results can be dropped."""

    id: int
    photo: Photo
    adapter: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoResult:
    request_id: int
    analysis: PhotoAnalysis
    prediction: Prediction | None
    seconds: float
    #: Why the pipeline stopped early ("" when it ran to the end).
    problem: str = ""


def adapters() -> tuple[str, ...]:
    """Names of the domain adapters the engine offers (empty while `f2p_engine.adapt` is missing)."""
    return ()


def analyse_photo(photo: Photo, adapter: str) -> PhotoAnalysis:
    """Detect, align, adapt and crop the face of `photo`."""
    raise NotIntegrated(f"{photo.name}: {NOT_INTEGRATED} (face detection, alignment and crops)")


def predict(analysis: PhotoAnalysis) -> Prediction:
    """The ensemble's recipe for an analysed photo."""
    raise NotIntegrated(f"{NOT_INTEGRATED} (prediction)")


def process_photo(request: PhotoRequest) -> PhotoResult:
    """Run the whole pipeline for one request; user-facing failures end up in `problem`, not raised."""
    start = time.perf_counter()
    analysis, prediction, problem = PhotoAnalysis(note=NOT_INTEGRATED), None, ""
    try:
        analysis = analyse_photo(request.photo, request.adapter)
        prediction = predict(analysis)
    except F2PError as exc:
        problem = str(exc)
    return PhotoResult(request_id=request.id, analysis=analysis, prediction=prediction,
                       seconds=time.perf_counter() - start, problem=problem)
