"""`f2p predict PHOTO -o OUT.mhm` as a whole process, launch to exit. Goal: <= 0.6 s (issue 22).

Each run is a new `python3 -m f2p_engine predict` process on a 640x480 photo (default: skimage's
astronaut on a canvas, `bench_common.astronaut_640x480`). Python writes its bytecode caches to a
temporary folder (as an installed f2p has them; a first, untimed run fills it), whatever
PYTHONDONTWRITEBYTECODE says. With `--against DIR` (another checkout, e.g. `git worktree add DIR
main`) the runs alternate between DIR's code and this one's, both reading this checkout's models, so a
change is compared under the same load. Medians of wall and CPU (user + system, all threads) time,
quoted with the load average.
Usage: OPENBLAS_NUM_THREADS=1 python3 benchmarks/bench_predict_process.py [--runs 7] [--photo P] [--against DIR]
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
from bench_common import astronaut_640x480

HERE = Path(__file__).resolve().parent.parent


def _run(tree: Path, photo: Path, out: Path, cache: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `f2p predict` process running the code of `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree), "F2P_RESOURCES": str(HERE / "resources"),
           "PYTHONPYCACHEPREFIX": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    began, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "f2p_engine", "predict", str(photo), "-o", str(out)], env=env, check=True,
                   cwd=tree, stdout=subprocess.DEVNULL)
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - began, now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--photo", type=Path, default=None)
    parser.add_argument("--against", type=Path, default=None, metavar="DIR", help="checkout to compare with")
    args = parser.parse_args()
    trees = {"this": HERE} if args.against is None else {"against": args.against.resolve(), "this": HERE}
    with tempfile.TemporaryDirectory() as folder:
        photo = args.photo
        if photo is None:
            photo = Path(folder) / "astronaut.jpg"
            cv2.imwrite(str(photo), astronaut_640x480().pixels[:, :, ::-1])
        caches = {name: Path(folder) / f"pycache-{name}" for name in trees}
        for name, tree in trees.items():
            _run(tree, photo, Path(folder) / "out.mhm", caches[name])  # fills the bytecode cache
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, tree in trees.items():
                times[name].append(_run(tree, photo, Path(folder) / "out.mhm", caches[name]))
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    for name, runs in times.items():
        wall, cpu = zip(*runs, strict=True)
        print(f"{name} ({trees[name]}): wall median {statistics.median(wall):.2f} s (min {min(wall):.2f}), "
              f"CPU median {statistics.median(cpu):.2f} s over {len(runs)} runs (goal <= 0.6 s wall)")


if __name__ == "__main__":
    main()
