"""The app's one door to the engine's photo pipeline and predictor.

`process_photo` runs in a worker thread (no Qt here): photo -> detection and alignment
(`f2p_engine.face`) -> adapter (`f2p_engine.adapt`, the "stylised" image and the crops the models
see) -> ensemble prediction (`f2p_engine.infer`). It is `infer.predict_photo` in two steps, so the
aligned face can be shown even when prediction fails (no face is a user error; missing models an
installation problem): the failure ends up in `PhotoResult.problem`, never raised.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.state import Photo, PhotoAnalysis
from f2p_engine.errors import F2PError
from f2p_engine.recipe import Recipe


@dataclass(frozen=True, slots=True, kw_only=True)
class Prediction:
    """A predicted recipe with a confidence in [0, 1] per region and the time each stage took (s)."""

    recipe: Recipe
    confidence: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


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


def adapters() -> dict[str, str]:
    """Domain adapter name -> one-line description, "identity" first."""
    from f2p_engine.adapt import available_adapters

    return dict(available_adapters())


def read_photo(path: Path) -> Photo:
    """An image file as an upright RGB `Photo` (EXIF, grey, RGBA and 16-bit handled by the engine)."""
    from f2p_engine.face.image import load_image

    return Photo(name=path.name, pixels=load_image(path).pixels, path=path)


def analyse_photo(photo: Photo, adapter: str) -> tuple[PhotoAnalysis, object]:
    """Detect, align, adapt and crop the largest face: (what to show, the engine's adapted face)."""
    from f2p_engine.adapt import create_adapter, stylise
    from f2p_engine.face.aligned import align_photo
    from f2p_engine.face.image import RGBImage

    start = time.perf_counter()
    face = align_photo(RGBImage(pixels=photo.pixels, source=str(photo.path or photo.name)))
    aligned = time.perf_counter()
    adapted = stylise(face, create_adapter(adapter))
    note = f"{face.faces_found} faces found, the largest is used" if face.faces_found > 1 else ""
    analysis = PhotoAnalysis(landmarks=face.detection.landmarks, aligned=face.image, stylised=adapted.image,
                             crops=adapted.crops, note=note,
                             timings={"align": aligned - start, "adapt": time.perf_counter() - aligned})
    return analysis, adapted


_predictor_lock = threading.Lock()
_predictor = None


def _shared_predictor():
    """The ONNX models, verified and loaded once per process (the first prediction pays for it)."""
    global _predictor
    from f2p_engine.infer.pipeline import Predictor

    with _predictor_lock:
        if _predictor is None:
            _predictor = Predictor.load()
        return _predictor


def predict(adapted_face) -> Prediction:
    """The ensemble's recipe for an aligned, adapted face (an engine `AlignedFace`)."""
    result = _shared_predictor().predict_aligned(adapted_face.image, adapted_face.landmarks)
    return Prediction(recipe=result.recipe, confidence=dict(result.confidence), timings=dict(result.timings))


def process_photo(request: PhotoRequest) -> PhotoResult:
    """Run the whole pipeline for one request; user-facing failures end up in `problem`, not raised."""
    start = time.perf_counter()
    analysis, prediction, problem = None, None, ""
    try:
        analysis, adapted = analyse_photo(request.photo, request.adapter)
        prediction = predict(adapted)
    except F2PError as exc:
        problem = str(exc)
    if analysis is None:
        analysis = PhotoAnalysis(note=problem)
    return PhotoResult(request_id=request.id, analysis=analysis, prediction=prediction,
                       seconds=time.perf_counter() - start, problem=problem)
