"""Identity descriptor of one face: dlib's own pipeline against f2p's (numpy chip + ONNX), one process.

Times, as medians over many runs on one face of the standard 640x480 photo, wall and CPU
milliseconds of: the 150 px chip (f2p's `face.chips`), the network on the chip (onnxruntime, one
thread), the whole `face.identity.face_descriptor`, and dlib's `compute_face_descriptor` (chip and
network in C++; only if dlib, a dev dependency, is installed). CPU time is shown because on a shared
machine the wall time mostly measures the queue. Goal: descriptor <= 10 ms.
Usage: python3 benchmarks/bench_descriptor.py [--runs 50]
"""

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from bench_common import astronaut_640x480

from f2p_engine.face.chips import face_chip
from f2p_engine.face.detect import detect_faces
from f2p_engine.face.facemodels import identity_session
from f2p_engine.face.identity import CHIP_PADDING, CHIP_SIZE, face_descriptor, load_recogniser


def wall_and_cpu_ms(work: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and median CPU (this process) milliseconds of `work()` after one warm-up call."""
    work()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    photo = astronaut_640x480()
    landmarks = detect_faces(photo)[0].landmarks
    load_recogniser()
    chip = face_chip(photo.pixels, landmarks, CHIP_SIZE, CHIP_PADDING)
    timings = {
        "chip (numpy, dlib's procedure)": lambda: face_chip(photo.pixels, landmarks, CHIP_SIZE, CHIP_PADDING),
        "network on the chip (onnxruntime)": lambda: identity_session().run(None, {"chip": chip[None]}),
        "f2p face_descriptor (chip + network)": lambda: face_descriptor(photo.pixels, landmarks),
    }
    try:
        import dlib
        import face_recognition_models
    except ImportError:
        print("dlib not installed: its descriptor is not timed")
    else:
        network = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
        points = dlib.points([dlib.point(round(x), round(y)) for x, y in landmarks])
        face = dlib.full_object_detection(dlib.rectangle(*(int(v) for v in (*landmarks.min(0), *landmarks.max(0)))),
                                          points)
        pixels = np.ascontiguousarray(photo.pixels)
        timings["dlib compute_face_descriptor (before)"] = lambda: network.compute_face_descriptor(pixels, face)
    for name, work in timings.items():
        wall, cpu = wall_and_cpu_ms(work, args.runs)
        print(f"{name:40s} wall median {wall:7.1f} ms, CPU median {cpu:7.1f} ms")
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores); goal: descriptor <= 10 ms")


if __name__ == "__main__":
    main()
