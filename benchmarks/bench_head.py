"""Recipe -> hm08 vertices (macro + face), median over many runs. Goal: <= 3 ms (60 fps slider drags).

Usage: python3 benchmarks/bench_head.py [--runs 500]
"""

import argparse
import statistics
import time

from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.synth.sampler import recipe_rng, sample_recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    start = time.perf_counter()
    model = HeadModel()
    build_ms = (time.perf_counter() - start) * 1000
    recipes = [sample_recipe(recipe_rng(0, i)).modifiers for i in range(50)]
    model.vertices(recipes[0])
    times = []
    for i in range(args.runs):
        modifiers = recipes[i % len(recipes)]
        t0 = time.perf_counter()
        model.vertices(modifiers)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"model build: {build_ms:.0f} ms")
    print(f"recipe -> 19158 vertices: median {statistics.median(times):.3f} ms, "
          f"p90 {times[int(0.9 * len(times))]:.3f} ms over {args.runs} runs (goal <= 3 ms)")


if __name__ == "__main__":
    main()
