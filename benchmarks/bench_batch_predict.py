"""Batch prediction throughput at 640x480, photos/s: separate `f2p predict` processes vs one batch.

Makes a folder of 640x480 JPEGs (centre 4:3 crops of the photos in PHOTOS, repeated to --count;
default: the astronaut), then times
- before: `python -m f2p_engine predict PHOTO -o OUT.mhm`, one process per photo (--before photos);
- after: `python -m f2p_engine predict DIR -o OUT --workers W`, whole command (start-up, model
  loading, worker spawn, writing), for each W in --workers;
and prints the median per-photo stage times from each batch report, the steady-state rate they
imply (workers x 1 / median total) and that rate without the identity member's descriptor.
Usage: OPENBLAS_NUM_THREADS=1 python3 benchmarks/bench_batch_predict.py [--photos DIR] [--count 120]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2


def make_photos(source: Path | None, count: int, folder: Path) -> list[Path]:
    """`count` 640x480 JPEGs in `folder`, cycling over the photos in `source` (default: the astronaut)."""
    if source is None:
        from bench_common import astronaut_640x480

        frames = [cv2.cvtColor(astronaut_640x480().pixels, cv2.COLOR_RGB2BGR)]
    else:
        frames = []
        for path in sorted(p for p in source.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
            image = cv2.imread(str(path))
            height, width = image.shape[:2]
            if width * 3 > height * 4:
                crop = height * 4 // 3
                image = image[:, (width - crop) // 2:(width - crop) // 2 + crop]
            else:
                crop = width * 3 // 4
                image = image[(height - crop) // 2:(height - crop) // 2 + crop]
            frames.append(cv2.resize(image, (640, 480), interpolation=cv2.INTER_AREA))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo{i:04d}.jpg"
        cv2.imwrite(str(path), frames[i % len(frames)], [cv2.IMWRITE_JPEG_QUALITY, 92])
        paths.append(path)
    return paths


#: Commands run from the repository root, so `python -m f2p_engine` is this checkout's engine.
ROOT = Path(__file__).resolve().parent.parent


def run(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=Path, default=None, help="folder of face photos (default: the astronaut)")
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--before", type=int, default=5, help="photos timed as separate processes")
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    python = [sys.executable, "-m", "f2p_engine", "predict"]
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        photos = make_photos(args.photos, args.count, root / "photos")
        before = [run([*python, str(p), "-o", str(root / "single" / f"{p.stem}.mhm")]) for p in photos[:args.before]]
        seconds = statistics.median(before)
        print(f"before: separate processes, median {seconds:.2f} s per photo = {1 / seconds:.2f} photos/s")
        for workers in (int(w) for w in args.workers.split(",")):
            out = root / f"batch{workers}"
            wall = run([*python, str(root / "photos"), "-o", str(out), "--workers", str(workers)])
            records = [json.loads(line) for line in (out / "predict-report.jsonl").read_text().splitlines()]
            done = sum(r["error"] is None for r in records)
            print(f"after: batch of {len(photos)} photos, --workers {workers}: {wall:.1f} s whole command = "
                  f"{done / wall:.2f} photos/s ({done} ok)")
            stages = {k: statistics.median(r["timings_ms"].get(k, 0.0) for r in records if r["error"] is None)
                      for k in records[0]["timings_ms"]}
            print(f"  median ms per photo in each of {workers} worker(s): "
                  + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
            print(f"  steady state {workers * 1000 / stages['total']:.2f} photos/s; without the identity descriptor "
                  f"{workers * 1000 / (stages['total'] - stages['descriptor']):.2f} photos/s")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
