"""What a photo's own pixels say beside the ensemble's members: `RGBImage` + one face -> `PhotoReading`.

Three readings that networks trained on renders cannot make: the macro member's gender and age (real-face
networks, on the aligned face before any adapter, `face.attributes`), the skin and eye colour
(`face.colour`) and the hair beside the face (`face.hair`). None of them needs the adapter or the members,
so `read_photo_soon` makes them on a reading thread while the caller adapts the face and runs the members;
both sides spend their time in onnxruntime, OpenCV and numpy, which let go of the GIL, so on two cores a
photo's prediction takes the longer of the two paths instead of their sum
(`benchmarks/bench_predict.py`).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the readers load their models' code only when a photo is read
    import numpy as np

    from f2p_engine.face.attributes import FaceAttributes
    from f2p_engine.face.colour import ColourReading
    from f2p_engine.face.detect import Detection
    from f2p_engine.face.hair import HairReading
    from f2p_engine.face.image import RGBImage


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoReading:
    """A face's readings from its photo; None where not read. `timings`: seconds of each reading
    (`attributes`, `colours`, `hair`)."""

    attributes: FaceAttributes | None = None
    colours: ColourReading | None = None
    hair: HairReading | None = None
    timings: dict[str, float] = field(default_factory=dict)


def read_photo(image: RGBImage, aligned: np.ndarray, aligned_landmarks: np.ndarray, detection: Detection
               ) -> PhotoReading:
    """Every reading of the face `detection` of `image`: the macro member's on `aligned` ((S, S, 3) uint8,
    the aligned face before any adapter) with its (68, 2) `aligned_landmarks`, colours and hair on `image`."""
    from f2p_engine.face.attributes import read_attributes
    from f2p_engine.face.colour import measure_colours
    from f2p_engine.face.hair import read_hair

    began = time.perf_counter()
    attributes = read_attributes(aligned, aligned_landmarks)
    read = time.perf_counter()
    colours = measure_colours(image, detection)
    measured = time.perf_counter()
    hair = read_hair(image, detection)
    return PhotoReading(attributes=attributes, colours=colours, hair=hair,
                        timings={"attributes": read - began, "colours": measured - read,
                                 "hair": time.perf_counter() - measured})


def resolved(reading: PhotoReading | Future[PhotoReading] | None) -> PhotoReading | None:
    """`reading` itself, or what a `read_photo_soon` future gives (waiting for it; its exception if it failed)."""
    return reading.result() if isinstance(reading, Future) else reading


_reader: ThreadPoolExecutor | None = None
_reader_lock = threading.Lock()


def read_photo_soon(image: RGBImage, aligned: np.ndarray, aligned_landmarks: np.ndarray, detection: Detection
                    ) -> Future[PhotoReading]:
    """`read_photo` on the reading thread (one for the process: the caller's own work takes the other
    core). Its exception, if any, comes out of the future's `result()`."""
    global _reader
    with _reader_lock:
        if _reader is None:
            _reader = ThreadPoolExecutor(1, thread_name_prefix="f2p-photo-reading")
        return _reader.submit(read_photo, image, aligned, aligned_landmarks, detection)
