"""Photo (640x480) -> aligned face and region crops, models loaded, median over many runs. Goal: <= 40 ms.

Also times the steps (detection, landmarks, warp + crops) and, outside the goal, the photometric
adapter and the identity descriptor. Input: skimage's astronaut placed on a 640x480 canvas.
Usage: python3 benchmarks/bench_align.py [--runs 100]
"""

import argparse
import time

from bench_common import astronaut_640x480, median_ms

from f2p_engine.adapt import create_adapter
from f2p_engine.face.aligned import align_face, align_photo
from f2p_engine.face.detect import detect_faces, load_models
from f2p_engine.face.identity import identity_descriptor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    start = time.perf_counter()
    load_models()
    print(f"model load (detector + 68 landmarks): {(time.perf_counter() - start) * 1000:.0f} ms")
    photo = astronaut_640x480()
    face = align_photo(photo)
    adapter = create_adapter("photometric")
    steps = {
        "photo -> aligned face + crops (goal <= 40 ms)": lambda: align_photo(photo),
        "  detection + landmarks": lambda: detect_faces(photo),
        "  warp + crops": lambda: align_face(photo, face.detection),
        "photometric adapter (256 px)": lambda: adapter.apply(face.image, face.landmarks),
        "identity descriptor": lambda: identity_descriptor(photo, face.detection),
    }
    for name, work in steps.items():
        median, p90 = median_ms(work, args.runs)
        print(f"{name}: median {median:.1f} ms, p90 {p90:.1f} ms over {args.runs} runs")


if __name__ == "__main__":
    main()
