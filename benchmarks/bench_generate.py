"""`f2p generate` throughput in samples/s, whole command timed (start-up, workers, writing), with and
without identity descriptors. Goal: >= 400 samples/s with `--workers 2` at 256 px.

Runs `f2p generate --count N --workers W --seed 7 --size 256 [--no-descriptors]` into a fresh
temporary directory and reports its wall-clock rate and its CPU (user + system of all its processes)
per sample; then, single-threaded in this process (as in a worker), the CPU milliseconds per sample
of each step of `SampleFactory.make`, timed by wrapping the functions it calls, the rest being what
no step covers (Sample assembly, the composite). "command overhead" is the command's CPU per sample
beyond making the samples: start-up of the command and its workers, shard writing, the manifest.
Wall-clock rates need an idle machine (other processes take cores away from the workers); CPU per
sample does not, so both are printed with the load average.
Usage: python3 benchmarks/bench_generate.py [--count 2000] [--descriptor-count 200] [--workers 2] [--keep DIR]
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
from collections import defaultdict
from pathlib import Path


def whole_command(count: int, workers: int, size: int, folder: Path, descriptors: bool) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of the command and its workers, of which system time)."""
    command = [sys.executable, "-m", "f2p_engine", "generate", "--count", str(count), "--workers",
               str(workers), "--seed", "7", "--size", str(size), "-o", str(folder),
               *([] if descriptors else ["--no-descriptors"])]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert json.loads((folder / "manifest.json").read_text())["count"] == count
    system = after.ru_stime - before.ru_stime
    return elapsed, after.ru_utime - before.ru_utime + system, system


def steps(size: int, runs: int) -> dict[str, float]:
    """CPU ms per sample of each step of `SampleFactory.make`, one thread (as in a worker)."""
    import cv2

    import f2p_engine.synth.factory as factory_module
    from f2p_engine.synth.factory import SampleFactory

    cv2.setNumThreads(1)  # as in a worker
    factory = SampleFactory(size)
    factory.make(7, 0)  # warm-up: GL programs, the noise tile, the ResNet
    spent: dict[str, float] = defaultdict(float)

    def timed(step: str, function):
        def wrapper(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[step] += time.process_time() - start
        return wrapper

    for step, name in [("recipe", "recipe_at"), ("augmentation draw", "sample_augmentation"),
                       ("background", "render_background"), ("degrade", "degrade"), ("region boxes", "region_boxes"),
                       ("labels", "continuous_vector"), ("labels", "discrete_indices"),
                       ("descriptor", "face_descriptor")]:
        setattr(factory_module, name, timed(step, getattr(factory_module, name)))
    for step, owner, name in [("mesh", factory.model, "vertices"), ("expression", factory.model, "apply_expression"),
                              ("render", factory.renderer, "render"),
                              ("  of which vertex normals", factory.renderer, "_normal_of")]:
        setattr(owner, name, timed(step, getattr(owner, name)))
    start = time.process_time()
    for index in range(runs):
        factory.make(7, index)
    whole = time.process_time() - start
    order = ["recipe", "augmentation draw", "mesh", "expression", "render", "  of which vertex normals", "background",
             "degrade", "region boxes", "labels", "descriptor"]
    result = {step: spent[step] / runs * 1000 for step in order}
    result["rest"] = (whole - sum(s for step, s in spent.items() if not step.startswith(" "))) / runs * 1000
    result["whole sample"] = whole / runs * 1000
    result["whole sample without descriptor"] = result["whole sample"] - result["descriptor"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="samples without descriptors")
    parser.add_argument("--descriptor-count", type=int, default=200, help="samples with descriptors")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--runs", type=int, default=100, help="samples for the per-step timings")
    parser.add_argument("--keep", type=Path, default=None, help="write the datasets under here and keep them")
    args = parser.parse_args()
    for name in ("LP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = "1"  # the step timings below are per worker thread
    root = args.keep or Path(tempfile.mkdtemp(prefix="f2p-bench-"))
    commands = {}
    try:
        for descriptors, count in ((False, args.count), (True, args.descriptor_count)):
            folder = root / ("with-descriptors" if descriptors else "no-descriptors")
            commands[descriptors] = (count, whole_command(count, args.workers, args.size, folder, descriptors))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    per_step = steps(args.size, args.runs)
    for descriptors, (count, (elapsed, cpu, system)) in commands.items():
        flag = "" if descriptors else " --no-descriptors"
        made = per_step["whole sample" if descriptors else "whole sample without descriptor"]
        print(f"f2p generate --count {count} --workers {args.workers} --size {args.size}{flag}: {elapsed:.1f} s, "
              f"{count / elapsed:.0f} samples/s (goal >= 400), {cpu / count * 1000:.2f} CPU ms per sample all-in, "
              f"of which system {system / count * 1000:.2f} and command overhead {cpu / count * 1000 - made:.2f}; "
              f"load average after it: {os.getloadavg()[0]:.2f}")
    print(f"steps of one sample, CPU ms, one thread, mean over {args.runs} samples:")
    for step, ms in per_step.items():
        print(f"  {step:34s} {ms:7.2f}")


if __name__ == "__main__":
    main()
