"""Recipe -> hm08 vertices (macro + face), median over many runs, on an idle and on a loaded machine.

Goals: <= 3 ms idle (60 fps slider drags), <= 2 ms with every core loaded by another process.
The shipped `HeadModel.vertices` runs its products on one BLAS thread (`headmodel.threads`); the same
products with numpy's default BLAS threads are timed alongside, in the same run, to show the trap.
Random recipes change every weight (the macro product is recomputed each call); a slider drag moves
one face modifier, so the model reuses its last macro product.
The load is a second process multiplying large matrices on every core (like a training job).
Usage: python3 benchmarks/bench_head.py [--runs 500]
"""

import argparse
import itertools
import os
import subprocess
import sys
import time

import numpy as np
from bench_common import median_ms

from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.synth.sampler import recipe_rng, sample_recipe

#: Keeps every core busy with BLAS threads until killed.
LOAD = "import numpy as np\na = np.random.rand(1500, 1500)\nwhile True:\n    a @ a\n"


def timings(model: HeadModel, runs: int) -> dict[str, tuple[float, float]]:
    recipes = itertools.cycle([sample_recipe(recipe_rng(0, i)).modifiers for i in range(50)])
    drag = dict(sample_recipe(recipe_rng(0, 0)).modifiers)
    steps = itertools.cycle(np.linspace(-1, 1, 41))

    def slider_step() -> np.ndarray:
        drag["nose/nose-trans-down|up"] = next(steps)
        return model.vertices(drag)

    # `vertices` is wrapped by `single_threaded_blas`; __wrapped__ is the same code without the limit.
    default_threads = HeadModel.vertices.__wrapped__
    return {"random recipes, one BLAS thread (shipped)": median_ms(lambda: model.vertices(next(recipes)), runs),
            "random recipes, default BLAS threads": median_ms(lambda: default_threads(model, next(recipes)), runs),
            "slider drag (nose), shipped": median_ms(slider_step, runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    start = time.perf_counter()
    model = HeadModel()
    print(f"model build: {(time.perf_counter() - start) * 1000:.0f} ms; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    idle = timings(model, args.runs)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(os.cpu_count()), "OMP_NUM_THREADS": str(os.cpu_count())}
    load = subprocess.Popen([sys.executable, "-c", LOAD], env=env)
    try:
        time.sleep(2)  # let the load reach every core
        loaded = timings(model, args.runs)
    finally:
        load.kill()
        load.wait()
    for name in idle:
        print(f"recipe -> 19158 vertices, {name}:\n"
              f"  no added load: median {idle[name][0]:.3f} ms (p90 {idle[name][1]:.3f}); "
              f"every core loaded by a second process: median {loaded[name][0]:.3f} ms (p90 {loaded[name][1]:.3f}) "
              f"over {args.runs} runs (goals <= 3 ms idle, <= 2 ms loaded)")


if __name__ == "__main__":
    main()
