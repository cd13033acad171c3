"""Photo -> aligned face and region crops, models loaded, medians over many runs, at 640x480 and 4000x3000.

Goals (issue 11): <= 10 ms at 640x480 and <= 40 ms at 4000x3000, decode excluded (decoding the JPEG
is timed on its own line). Also times the steps (detection, 468-point mesh, warp + crops) and,
outside the goals, the photometric adapter and the identity descriptor at 640x480; and `f2p predict`
on one photo as a whole process (median of 5; interpreter start, imports, model loading included).
Input: skimage's astronaut on a 640x480 canvas, and enlarged on a 4000x3000 canvas (face ~520 px).
Usage: python3 benchmarks/bench_align.py [--runs 100] [--process-runs 5]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from bench_common import astronaut_640x480, median_ms

from f2p_engine.adapt import create_adapter
from f2p_engine.face.aligned import align_face, align_photo
from f2p_engine.face.detect import detect_faces, load_models
from f2p_engine.face.facedetect import find_faces
from f2p_engine.face.facemesh import face_mesh
from f2p_engine.face.identity import face_descriptor
from f2p_engine.face.image import RGBImage, load_image

ROOT = Path(__file__).resolve().parent.parent


def astronaut_4000x3000() -> RGBImage:
    """The 640x480 test photo enlarged 6.25x: a 12 Mpx camera photo of the same scene."""
    pixels = cv2.resize(astronaut_640x480().pixels, (4000, 3000), interpolation=cv2.INTER_LINEAR)
    return RGBImage(pixels=pixels, source="astronaut 4000x3000")


def time_photo(photo: RGBImage, folder: Path, runs: int) -> None:
    goal = 10 if photo.width <= 640 else 40
    face = align_photo(photo)
    box = find_faces(photo)[0]
    jpeg = folder / f"{photo.width}x{photo.height}.jpg"
    cv2.imwrite(str(jpeg), np.ascontiguousarray(photo.pixels[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 92])
    steps = {
        f"{photo.width}x{photo.height} photo -> aligned face + crops (goal <= {goal} ms)": lambda: align_photo(photo),
        "  detection + 468-point mesh + 68 points": lambda: detect_faces(photo),
        "    detection (full range, short range when unsure; small copy)": lambda: find_faces(photo),
        "    mesh (two landmark passes)": lambda: face_mesh(photo.pixels, box),
        "  warp + crops": lambda: align_face(photo, face.detection),
        "decode the JPEG (not in the goal)": lambda: load_image(jpeg),
    }
    for name, work in steps.items():
        median, p90 = median_ms(work, runs)
        print(f"{name}: median {median:.1f} ms, p90 {p90:.1f} ms over {runs} runs")


def time_predict_process(folder: Path, runs: int) -> None:
    """`f2p predict` on the 640x480 JPEG as a whole process (this checkout's engine), median of `runs`."""
    photo = folder / "640x480.jpg"
    command = [sys.executable, "-c", "from f2p_engine.cli import main; main()", "predict", str(photo),
               "-o", str(folder / "out.mhm")]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT),
                                                                                 "PATH": "/usr/bin:/bin"})
        times.append(time.perf_counter() - start)
    print(f"f2p predict, whole process (640x480 JPEG): median {statistics.median(times):.2f} s over {runs} runs "
          f"(min {min(times):.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--process-runs", type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    load_models()
    print(f"model load (detectors + mesh, verified, one run each): {(time.perf_counter() - start) * 1000:.0f} ms")
    photo = astronaut_640x480()
    with tempfile.TemporaryDirectory() as folder:
        for picture in (photo, astronaut_4000x3000()):
            time_photo(picture, Path(folder), args.runs)
        face = align_photo(photo)
        adapter = create_adapter("photometric")
        for name, work in {"photometric adapter (256 px)": lambda: adapter.apply(face.image, face.landmarks),
                           "identity descriptor (aligned face)": lambda: face_descriptor(face.image, face.landmarks),
                           }.items():
            median, p90 = median_ms(work, args.runs)
            print(f"{name}: median {median:.1f} ms, p90 {p90:.1f} ms over {args.runs} runs")
        if args.process_runs:
            time_predict_process(Path(folder), args.process_runs)


if __name__ == "__main__":
    main()
