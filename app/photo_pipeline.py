"""The app's one door to the engine's photo pipeline and predictor.

`process_photos` runs in a worker thread (no Qt here): photo -> detection and alignment
(`f2p_engine.face`) -> adapter (`f2p_engine.adapt`, the "stylised" image and the crops the models
see) -> ensemble prediction (`f2p_engine.infer`). It is `infer.predict_photo` in two steps, so the
aligned face can be shown even when prediction fails (no face is a user error; missing models an
installation problem): the failure ends up in `PhotoResult.problem`, never raised.

A webcam capture is the same request with a burst of frames: every frame goes through the
pipeline, and the predictions are combined per region by confidence (`f2p_engine.infer.burst`).
A single photo is a burst of one.

The ONNX models come from the studio state's `Models` (loaded once, on first use or ahead).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.state import Models, Photo, PhotoAnalysis, face_number
from f2p_engine.errors import F2PError

if TYPE_CHECKING:
    from f2p_engine.face.aligned import AlignedFace
    from f2p_engine.infer.pipeline import Prediction


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoRequest:
    """One run of the pipeline on a photo or a burst of webcam frames of one face.

    `id` grows with every request so stale results can be dropped.
    """

    id: int
    photos: tuple[Photo, ...]
    adapter: str
    models: Models
    #: Which face of a group photo (largest first).
    face: int = 0
    #: False when restoring a session: the saved prediction and edits stay, the photo is only analysed.
    apply_prediction: bool = True
    #: Called from the worker with the stage it starts ("finding the face", "predicting"...).
    progress: Callable[[str], None] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoResult:
    request_id: int
    #: The photo `analysis` is of: for a burst, the frame the models were most confident about.
    photo: Photo | None
    analysis: PhotoAnalysis
    #: The engine's prediction (combined over the frames of a burst), None if prediction failed.
    prediction: Prediction | None
    seconds: float
    #: How many of the request's photos had a face and went into the result.
    photos_used: int = 0
    #: Why the pipeline stopped early ("" when it ran to the end).
    problem: str = ""
    #: The request's `apply_prediction`.
    apply_prediction: bool = True


def adapters() -> dict[str, str]:
    """Domain adapter name -> one-line description, "none" first."""
    from f2p_engine.adapt import available_adapters

    return dict(available_adapters())


def read_photo(path: Path) -> Photo:
    """An image file as an upright RGB `Photo` (EXIF, grey, RGBA and 16-bit handled by the engine)."""
    from f2p_engine.face.image import load_image

    return Photo(name=path.name, pixels=load_image(path).pixels, path=path)


def analyse_photo(photo: Photo, adapter: str, face: int = 0) -> tuple[PhotoAnalysis, AlignedFace]:
    """Detect every face, align face `face` (largest first), adapt and crop it: (what to show, the
    engine's adapted face). InputError when there is no face."""
    from f2p_engine.adapt import create_adapter, stylise
    from f2p_engine.face.aligned import align_face, faces_in_photo
    from f2p_engine.face.image import RGBImage

    start = time.perf_counter()
    image = RGBImage(pixels=photo.pixels, source=str(photo.path or photo.name))
    detections = faces_in_photo(image)
    face = min(face, len(detections) - 1)
    aligned_face = align_face(image, detections[face], faces_found=len(detections))
    aligned = time.perf_counter()
    adapted = stylise(aligned_face, create_adapter(adapter))
    boxes = tuple(d.box for d in detections)
    note = (f"face {face_number(boxes, face)} of {len(detections)}, numbered left to right (click another face "
            "to use it)" if len(detections) > 1 else "")
    analysis = PhotoAnalysis(landmarks=aligned_face.detection.landmarks, aligned=aligned_face.image,
                             aligned_landmarks=aligned_face.landmarks, stylised=adapted.image, crops=adapted.crops,
                             faces=boxes, face=face, note=note,
                             timings={"align": aligned - start, "adapt": time.perf_counter() - aligned})
    return analysis, adapted


def process_photos(request: PhotoRequest) -> PhotoResult:
    """Run the whole pipeline for one request; user-facing failures end up in `problem`, not raised."""
    from f2p_engine.face.image import RGBImage
    from f2p_engine.face.reading import read_photo_soon
    from f2p_engine.infer.burst import combine_burst, steadiest_frame, sum_timings

    start = time.perf_counter()
    progress = request.progress or (lambda _stage: None)
    progress("finding the face")
    faces, problem = [], ""
    for photo in request.photos:
        try:
            faces.append((photo, *analyse_photo(photo, request.adapter, request.face)))
        except F2PError as exc:
            problem = str(exc)
    if not faces:
        if len(request.photos) > 1:
            problem = f"no usable face in any of the {len(request.photos)} frames ({problem})"
        return PhotoResult(request_id=request.id, photo=request.photos[-1] if request.photos else None,
                           analysis=PhotoAnalysis(note=problem), prediction=None,
                           seconds=time.perf_counter() - start, problem=problem,
                           apply_prediction=request.apply_prediction)
    prediction, steadiest = None, 0
    if not request.apply_prediction:  # e.g. a restored session: its prediction is already known
        photo, analysis, _ = faces[0]
        return PhotoResult(request_id=request.id, photo=photo, analysis=analysis, prediction=None,
                           seconds=time.perf_counter() - start, problem=problem, apply_prediction=False)
    try:
        if not request.models.loaded:
            progress("loading the models")
        predictor = request.models.get()
        progress("predicting")
        # The macro member reads the aligned face before the adapter (it knows real photos). Every frame's
        # readings are queued first: the reading thread works through them while the members run.
        readings = [read_photo_soon(RGBImage(pixels=photo.pixels, source=photo.name), analysis.aligned,
                                    analysis.aligned_landmarks, adapted.detection)
                    for photo, analysis, adapted in faces]
        predictions = [predictor.predict_aligned(adapted.image, adapted.landmarks, reading=reading)
                       for (_, _, adapted), reading in zip(faces, readings, strict=True)]
        prediction = combine_burst(predictions)
        steadiest = steadiest_frame(predictions)
    except F2PError as exc:
        problem = str(exc)
    photo, analysis, _ = faces[steadiest]
    if len(faces) > 1:  # the status bar reports the whole burst's time per stage
        analysis = replace(analysis, timings=sum_timings(a.timings for _, a, _ in faces))
    return PhotoResult(request_id=request.id, photo=photo, analysis=analysis, prediction=prediction,
                       seconds=time.perf_counter() - start, photos_used=len(faces), problem=problem,
                       apply_prediction=request.apply_prediction)
