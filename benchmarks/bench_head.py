"""Recipe -> hm08 vertices (macro + face), median over many runs. Goal: <= 3 ms (60 fps slider drags).

Usage: python3 benchmarks/bench_head.py [--runs 500]
"""

import argparse
import itertools
import time

from bench_common import median_ms

from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.synth.sampler import recipe_rng, sample_recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    start = time.perf_counter()
    model = HeadModel()
    build_ms = (time.perf_counter() - start) * 1000
    recipes = itertools.cycle([sample_recipe(recipe_rng(0, i)).modifiers for i in range(50)])
    median, p90 = median_ms(lambda: model.vertices(next(recipes)), args.runs)
    print(f"model build: {build_ms:.0f} ms")
    print(f"recipe -> 19158 vertices: median {median:.3f} ms, p90 {p90:.3f} ms over {args.runs} runs (goal <= 3 ms)")

if __name__ == "__main__":
    main()
