"""The studio's Qt-free state: photo, photo analysis, recipe, predicted recipe and current head mesh.

Widgets read this object and connect to its psygnal signals; every change goes through one of its
methods, which emit only when something actually changed. The mesh is re-evaluated by the engine
(`HeadModel.vertices`, well under a millisecond) whenever the recipe changes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from psygnal import Signal

from f2p_engine.errors import F2PError
from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.recipe import Recipe

if TYPE_CHECKING:
    from f2p_engine.infer.pipeline import Predictor


@dataclass(frozen=True, slots=True, kw_only=True)
class Photo:
    """A source photo as shown to the artist: `pixels` (H, W, 3) uint8 RGB, upright (EXIF applied)."""

    name: str
    pixels: np.ndarray = field(repr=False)
    path: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoAnalysis:
    """What the photo pipeline made of a photo, ready to display.

    `landmarks` (68, 2) float pixel coordinates in the source photo (x right, y down);
    `aligned`, `stylised` and each of `crops` (region name -> image) are (H, W, 3) uint8 RGB.
    """

    landmarks: np.ndarray | None = field(default=None, repr=False)
    aligned: np.ndarray | None = field(default=None, repr=False)
    #: (68, 2) float landmarks in `aligned` pixels.
    aligned_landmarks: np.ndarray | None = field(default=None, repr=False)
    stylised: np.ndarray | None = field(default=None, repr=False)
    crops: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    #: Every face found, largest first: (x0, y0, x1, y1) boxes in source-photo pixels.
    faces: tuple[tuple[float, float, float, float], ...] = ()
    #: Which of `faces` was analysed.
    face: int = 0
    #: Shown beside the images: "face 2 of 3", or why there are none ("no face found...").
    note: str = ""
    #: Stage -> seconds.
    timings: dict[str, float] = field(default_factory=dict)

    def number(self, index: int) -> int:
        """The number the artist sees for face `index` of `faces`: faces count from 1, left to right."""
        return face_number(self.faces, index)


def face_number(boxes: tuple[tuple[float, float, float, float], ...], index: int) -> int:
    """1-based position of box `index` among `boxes` ((x0, y0, x1, y1)) counted left to right by centre
    (the order a group photo is read in; the pipeline keeps them largest first)."""
    centres = [(box[0] + box[2]) / 2 for box in boxes]
    return sorted(range(len(boxes)), key=lambda i: (centres[i], i)).index(index) + 1


class Models:
    """The ensemble's ONNX models for one studio state, verified and loaded once, when first needed.

    `load` makes the predictor (default: the shipped models); tests pass a deterministic double.
    Thread-safe: the pipeline worker and `preload` may ask at the same time; both get one predictor.
    """

    def __init__(self, load: Callable[[], Predictor] | None = None) -> None:
        self._load = load or _load_shipped
        self._lock = threading.Lock()
        self._predictor: Predictor | None = None
        self._preloading: threading.Thread | None = None

    @property
    def loaded(self) -> bool:
        return self._predictor is not None

    def get(self) -> Predictor:
        with self._lock:
            if self._predictor is None:
                self._predictor = self._load()
            return self._predictor

    def preload(self) -> None:
        """Load in a background thread now, so the first photo does not wait for it. A failure
        (models missing or tampered) is left for the first photo to report."""
        self._preloading = threading.Thread(target=self._try_get, name="f2p-load-models", daemon=True)
        self._preloading.start()

    def wait(self) -> None:
        """Until a `preload` in progress has finished: Python's shutdown under a thread inside
        onnxruntime's session set-up aborts the process (a studio closed right after it showed)."""
        if self._preloading is not None:
            self._preloading.join()

    def _try_get(self) -> None:
        with contextlib.suppress(F2PError):  # reported with the first photo, where the artist can act on it
            self.get()


def _load_shipped() -> Predictor:
    from f2p_engine.infer.pipeline import Predictor

    return Predictor.load()


class StudioState:
    """Everything the studio shows, without any Qt. One instance per window."""

    #: The current recipe (a `Recipe`) changed.
    recipe_changed = Signal(object)
    #: The predicted recipe (`Recipe` or None) changed: slider markers and "reset to predicted" follow it.
    predicted_changed = Signal(object)
    #: New hm08 vertices, (19158, 3) float32, decimetres, Y up.
    mesh_changed = Signal(object)
    #: The source photo (`Photo` or None) changed.
    photo_changed = Signal(object)
    #: The photo pipeline's output (`PhotoAnalysis` or None) changed.
    analysis_changed = Signal(object)
    #: A new live webcam frame (`Photo`), or None when the live preview ends.
    live_frame_changed = Signal(object)
    #: The document's path or its unsaved-changes flag changed.
    document_changed = Signal()
    #: The photo pipeline started a stage (its name) or finished (None).
    busy_changed = Signal(object)
    #: A slider drag started (True) or ended (False): views may draw cheaper frames meanwhile.
    dragging_changed = Signal(bool)

    def __init__(self, head_model: HeadModel | None = None, *,
                 load_predictor: Callable[[], Predictor] | None = None) -> None:
        self.head_model = head_model or HeadModel()
        #: The ensemble's models (the shipped ones unless `load_predictor` says otherwise).
        self.models = Models(load_predictor)
        self.recipe = Recipe()
        self.predicted: Recipe | None = None
        #: Region -> confidence in [0, 1] of the prediction.
        self.confidence: dict[str, float] = {}
        #: Group -> how its predicted choice was made when the models did not read it ("measured", "by gender").
        self.choice_sources: dict[str, str] = {}
        #: What rows are compared with and reset to when nothing was predicted: an opened recipe file.
        self.baseline: Recipe | None = None
        self.photo: Photo | None = None
        self.analysis: PhotoAnalysis | None = None
        #: The newest frame of the live preview; shown instead of the photo while not None.
        self.live_frame: Photo | None = None
        self.path: Path | None = None
        self.dirty = False
        #: What the photo pipeline is doing ("finding the face", "predicting"...), None when idle.
        self.busy: str | None = None
        #: A slider is being dragged (from press to release).
        self.dragging = False
        #: Milliseconds the last mesh evaluation took.
        self.mesh_ms = 0.0
        self.vertices = self._evaluate(self.recipe)

    def _evaluate(self, recipe: Recipe) -> np.ndarray:
        start = time.perf_counter()
        vertices = self.head_model.vertices(recipe.modifiers)
        self.mesh_ms = (time.perf_counter() - start) * 1000
        return vertices

    def set_recipe(self, recipe: Recipe) -> None:
        """Make `recipe` current and re-evaluate the mesh."""
        if recipe == self.recipe:
            return
        self.recipe = recipe
        self.vertices = self._evaluate(recipe)
        self.recipe_changed.emit(recipe)
        self.mesh_changed.emit(self.vertices)

    def open_document(self, recipe: Recipe, path: Path | None) -> None:
        """A recipe read from `path` (None: a new, unsaved one) becomes current and unmodified."""
        self.set_recipe(recipe)
        self.path = path
        self.dirty = False
        self.document_changed.emit()

    def set_dirty(self, dirty: bool) -> None:
        """Whether the recipe has changes not saved to `path` (the undo stack's clean state drives it)."""
        if dirty != self.dirty:
            self.dirty = dirty
            self.document_changed.emit()

    def mark_saved(self, path: Path) -> None:
        self.path = path
        self.dirty = False
        self.document_changed.emit()

    def set_predicted(self, recipe: Recipe | None, confidence: dict[str, float] | None = None,
                      sources: Mapping[str, str] | None = None) -> None:
        """The prediction (None: none), its confidence per region, and how the choices not read by the models
        were made (`Prediction.sources`: measured in the photo, chosen by gender)."""
        if recipe is self.predicted:
            return
        self.predicted = recipe
        self.confidence = dict(confidence or {})
        self.choice_sources = dict(sources or {})
        self.predicted_changed.emit(recipe)

    def set_baseline(self, recipe: Recipe | None) -> None:
        """The reference when there is no prediction (None: MakeHuman's defaults); markers follow it."""
        if recipe is not self.baseline:
            self.baseline = recipe
            self.predicted_changed.emit(self.predicted)

    def set_photo(self, photo: Photo | None) -> None:
        """A new source photo; its previous analysis no longer applies."""
        self.photo = photo
        self.photo_changed.emit(photo)
        self.set_analysis(None)

    def set_analysis(self, analysis: PhotoAnalysis | None) -> None:
        if analysis is self.analysis:
            return
        self.analysis = analysis
        self.analysis_changed.emit(analysis)

    def set_busy(self, stage: str | None) -> None:
        if stage != self.busy:
            self.busy = stage
            self.busy_changed.emit(stage)

    def set_dragging(self, dragging: bool) -> None:
        if dragging != self.dragging:
            self.dragging = dragging
            self.dragging_changed.emit(dragging)

    def set_live_frame(self, frame: Photo | None) -> None:
        if frame is self.live_frame:
            return
        self.live_frame = frame
        self.live_frame_changed.emit(frame)

    def reference_value(self, name: str) -> float:
        """The value "reset" returns a slider to: the prediction if there is one, else the opened
        recipe's, else the default."""
        return (self.predicted or self.baseline or _NEUTRAL).value(name)

    def reference_choice(self, group: str) -> str:
        return (self.predicted or self.baseline or _NEUTRAL).choice(group)


_NEUTRAL = Recipe()
