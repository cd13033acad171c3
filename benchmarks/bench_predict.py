"""Photo (640x480) -> Recipe after loading the models, median over many runs. Goal: <= 60 ms (issue 22).

Times the whole chain (detect, align, adapt, identity descriptor, every ONNX model, ensemble, recipe,
fold check) with the median of each stage, and the model part alone. The photo's readings (attributes,
colours, hair) run on the reading thread beside adapt, descriptor and models, so the stages add up to
more than the total. Input: skimage's astronaut placed on a 640x480 canvas. Each onnxruntime session
runs on one thread.
Usage: python3 benchmarks/bench_predict.py [--models DIR] [--runs 50] [--threads 1]
"""

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("LP_NUM_THREADS", "0")  # as `f2p predict` renders its fold checks (f2p_engine/cli/models.py)

from bench_common import astronaut_640x480, median_ms

from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.face.aligned import align_photo
from f2p_engine.face.detect import load_models
from f2p_engine.infer.pipeline import Predictor, predict_photo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=None, help="model folder (default: the shipped models)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--adapter", default=DEFAULT_ADAPTER)
    args = parser.parse_args()

    start = time.perf_counter()
    predictor = Predictor.load(args.models, threads=args.threads)
    load_models()
    print(f"load models (sha256 check, ONNX sessions, face models): {(time.perf_counter() - start) * 1000:.0f} ms")
    sizes = {m.name: (predictor.manifest.path(m).stat().st_size / 2**20) for m in predictor.manifest.models}
    print(f"model files: {sum(sizes.values()):.1f} MB in {len(sizes)} files")

    photo = astronaut_640x480()
    face = align_photo(photo)
    stages: dict[str, list[float]] = {}
    unfolded: set[str] = set()

    def photo_to_recipe() -> None:
        prediction, _ = predict_photo(predictor, photo, adapter=args.adapter)
        for stage, seconds in prediction.timings.items():
            stages.setdefault(stage, []).append(seconds)
        unfolded.update(prediction.unfolded)

    total, total_p90 = median_ms(photo_to_recipe, args.runs)
    models, models_p90 = median_ms(lambda: predictor.predict_aligned(face.image, face.landmarks), args.runs)
    print(f"photo -> recipe: median {total:.1f} ms, p90 {total_p90:.1f} ms (goal <= 60 ms)")
    print("  stages, median ms: " + ", ".join(f"{s} {statistics.median(v) * 1000:.1f}" for s, v in stages.items()))
    print(f"  sliders moved out of a visible fold: {', '.join(sorted(unfolded)) or 'none'}")
    print(f"  aligned face -> recipe (models + ensemble): median {models:.1f} ms, p90 {models_p90:.1f} ms")
    for entry in predictor.manifest.models:
        ms, _ = median_ms(lambda e=entry: predictor.run_model(e, face.image[None], face.landmarks[None]), args.runs)
        spec = entry.preprocessing
        reads = f"{spec.height}x{spec.width}" if spec else "descriptor of the aligned face, computed here"
        print(f"  {entry.name:10s} {reads}: {ms:.1f} ms")


if __name__ == "__main__":
    main()
