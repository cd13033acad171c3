"""`f2p generate` throughput in samples/s, whole command timed (start-up, workers, writing). Goal: >= 200.

Runs `f2p generate --count N --workers W --seed 7 --size 256` into a fresh temporary directory and
reports its wall-clock rate and its CPU (user + system of all its processes) per sample, then,
single-threaded in this process, the CPU milliseconds per sample of each step (recipe, mesh,
render into the aligned frame, background + composite + degradation + rest), to show where the
time goes. Wall-clock rates need an idle machine (other processes take cores away from the
workers); CPU per sample does not, so both are printed with the load average.
Usage: python3 benchmarks/bench_generate.py [--count 2000] [--workers 2] [--keep DIR]
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def whole_command(count: int, workers: int, size: int, folder: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of the command and its workers, of which system time)."""
    command = [sys.executable, "-m", "f2p_engine", "generate", "--count", str(count), "--workers",
               str(workers), "--seed", "7", "--size", str(size), "-o", str(folder)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert json.loads((folder / "manifest.json").read_text())["count"] == count
    system = after.ru_stime - before.ru_stime
    return elapsed, after.ru_utime - before.ru_utime + system, system


def steps(size: int, runs: int = 60) -> dict[str, float]:
    """CPU ms per sample of the pipeline's steps, one thread (as in a worker)."""
    import cv2
    import numpy as np

    from f2p_engine.face.align import alignment_transform
    from f2p_engine.synth.augment import sample_augmentation
    from f2p_engine.synth.factory import SampleFactory
    from f2p_engine.synth.sampler import recipe_rng, sample_recipe

    cv2.setNumThreads(1)  # as in a worker
    factory = SampleFactory(size)
    factory.make(7, 0)
    recipes = [sample_recipe(recipe_rng(7, i)) for i in range(runs)]
    augmentations = [sample_augmentation(np.random.default_rng(i), r) for i, r in enumerate(recipes)]
    vertices = [factory.model.vertices(r.modifiers) for r in recipes]
    frames = [alignment_transform(factory.renderer.landmarks(v, a.camera, a.pose), size)
              for v, a in zip(vertices, augmentations, strict=True)]

    def cpu_ms(work) -> float:
        start = time.process_time()
        for i in range(runs):
            work(i)
        return (time.process_time() - start) / runs * 1000

    result = {
        "recipe": cpu_ms(lambda i: sample_recipe(recipe_rng(7, i))),
        "mesh": cpu_ms(lambda i: factory.model.vertices(recipes[i].modifiers)),
        "render": cpu_ms(lambda i: factory.renderer.render(
            vertices[i], augmentations[i].camera, pose=augmentations[i].pose, lighting=augmentations[i].lighting,
            appearance=augmentations[i].appearance, frame=frames[i])),
        "whole sample": cpu_ms(lambda i: factory.make(7, i)),
    }
    parts = result["recipe"] + result["mesh"] + result["render"]
    result["background, composite, degrade, rest"] = result["whole sample"] - parts
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--keep", type=Path, default=None, help="write the dataset here and keep it")
    args = parser.parse_args()
    for name in ("LP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = "1"  # the step timings below are per worker thread
    folder = args.keep or Path(tempfile.mkdtemp(prefix="f2p-bench-")) / "data"
    try:
        elapsed, cpu, system = whole_command(args.count, args.workers, args.size, folder)
    finally:
        if args.keep is None:
            shutil.rmtree(folder.parent, ignore_errors=True)
    rate = args.count / elapsed
    print(f"f2p generate --count {args.count} --workers {args.workers} --size {args.size}: {elapsed:.1f} s, "
          f"{rate:.0f} samples/s (goal >= 200), {cpu / args.count * 1000:.2f} CPU ms per sample all-in "
          f"(goal <= ~9 on 2 cores), of which system {system / args.count * 1000:.2f}; "
          f"load average after it: {os.getloadavg()[0]:.2f}")
    for step, ms in steps(args.size).items():
        print(f"  {step:32s} {ms:6.2f} CPU ms per sample")


if __name__ == "__main__":
    main()
