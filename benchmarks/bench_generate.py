"""`f2p generate` throughput in samples/s, whole command timed (start-up, workers, writing). Goal: >= 200.

Runs `f2p generate --count N --workers W --seed 7 --size 256` into a fresh temporary directory,
then, single-threaded in this process, the CPU milliseconds per sample of each step (recipe,
mesh, render, alignment + composite + degradation), to show where the time goes. The machine
should be idle: other processes take cores away from the workers.
Usage: python3 benchmarks/bench_generate.py [--count 2000] [--workers 2] [--keep DIR]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def whole_command(count: int, workers: int, size: int, folder: Path) -> float:
    command = [sys.executable, "-m", "f2p_engine", "generate", "--count", str(count), "--workers",
               str(workers), "--seed", "7", "--size", str(size), "-o", str(folder)]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    elapsed = time.perf_counter() - start
    assert json.loads((folder / "manifest.json").read_text())["count"] == count
    return elapsed


def steps(size: int, runs: int = 60) -> dict[str, float]:
    """CPU ms per sample of the pipeline's steps, one thread (as in a worker)."""
    import numpy as np

    from f2p_engine.synth.augment import sample_augmentation
    from f2p_engine.synth.factory import SampleFactory
    from f2p_engine.synth.sampler import recipe_rng, sample_recipe

    factory = SampleFactory(size)
    factory.make(7, 0)
    recipes = [sample_recipe(recipe_rng(7, i)) for i in range(runs)]
    augmentations = [sample_augmentation(np.random.default_rng(i), r) for i, r in enumerate(recipes)]
    vertices = [factory.model.vertices(r.modifiers) for r in recipes]

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
            appearance=augmentations[i].appearance)),
        "whole sample": cpu_ms(lambda i: factory.make(7, i)),
    }
    result["align, composite, degrade, rest"] = result["whole sample"] - result["recipe"] - result["mesh"] - result[
        "render"]
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
        elapsed = whole_command(args.count, args.workers, args.size, folder)
    finally:
        if args.keep is None:
            shutil.rmtree(folder.parent, ignore_errors=True)
    rate = args.count / elapsed
    print(f"f2p generate --count {args.count} --workers {args.workers} --size {args.size}: {elapsed:.1f} s, "
          f"{rate:.0f} samples/s (goal >= 200; load average before the steps: {os.getloadavg()[0]:.2f})")
    for step, ms in steps(args.size).items():
        print(f"  {step:32s} {ms:6.2f} CPU ms per sample")


if __name__ == "__main__":
    main()
