"""Photo (640x480) -> Recipe after loading the models, median over many runs. Goal: <= 100 ms.

Times the whole chain (detect, align, adapt, every ONNX model, ensemble, recipe) and the model
part alone. Input: skimage's astronaut placed on a 640x480 canvas. onnxruntime runs on one thread
(the app keeps the other core for the GUI and the mesh).
Usage: python3 benchmarks/bench_predict.py [--models DIR] [--runs 50] [--threads 1]
"""

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from f2p_engine.face.aligned import align_photo
from f2p_engine.face.detect import load_models
from f2p_engine.face.image import RGBImage
from f2p_engine.infer.pipeline import Predictor, predict_photo


def _photo() -> RGBImage:
    canvas = np.full((480, 640, 3), 120, np.uint8)
    canvas[:, 80:560] = cv2.resize(data.astronaut(), (480, 480), interpolation=cv2.INTER_AREA)
    return RGBImage(pixels=canvas, source="astronaut 640x480")


def _median_ms(work: Callable[[], object], runs: int) -> tuple[float, float]:
    work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.9 * len(times))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=None, help="model folder (default: the shipped models)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--adapter", default="photometric")
    args = parser.parse_args()

    start = time.perf_counter()
    predictor = Predictor.load(args.models, threads=args.threads)
    load_models()
    print(f"load models (sha256 check, ONNX sessions, dlib): {(time.perf_counter() - start) * 1000:.0f} ms")
    sizes = {m.name: (predictor.manifest.path(m).stat().st_size / 2**20) for m in predictor.manifest.models}
    print(f"model files: {sum(sizes.values()):.1f} MB in {len(sizes)} files")

    photo = _photo()
    face = align_photo(photo)
    total, total_p90 = _median_ms(lambda: predict_photo(predictor, photo, adapter=args.adapter), args.runs)
    models, models_p90 = _median_ms(lambda: predictor.predict_aligned(face.image, face.landmarks), args.runs)
    print(f"photo -> recipe: median {total:.1f} ms, p90 {total_p90:.1f} ms (goal <= 100 ms)")
    print(f"  aligned face -> recipe (models + ensemble): median {models:.1f} ms, p90 {models_p90:.1f} ms")
    for entry in predictor.manifest.models:
        ms, _ = _median_ms(lambda e=entry: predictor.run_model(e, face.image[None], face.landmarks[None]), args.runs)
        print(f"  {entry.name:10s} {entry.preprocessing.height}x{entry.preprocessing.width}: {ms:.1f} ms")


if __name__ == "__main__":
    main()
