"""Shared pieces of the benchmarks: the standard 640x480 test photo and a median timer."""

import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
from skimage import data

from f2p_engine.face.image import RGBImage


def astronaut_640x480() -> RGBImage:
    """skimage's public-domain astronaut, centred on a 640x480 grey canvas (a typical webcam frame)."""
    canvas = np.full((480, 640, 3), 120, np.uint8)
    canvas[:, 80:560] = cv2.resize(data.astronaut(), (480, 480), interpolation=cv2.INTER_AREA)
    return RGBImage(pixels=canvas, source="astronaut 640x480")


def median_ms(work: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, p90) wall milliseconds of `work()` over `runs` calls after one warm-up call."""
    work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.9 * len(times))]
