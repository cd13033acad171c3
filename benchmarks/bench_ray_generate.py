"""`f2p generate --ray` against `--workers 2` on this machine: samples/s and identical bytes.

Runs, alternating, `f2p generate --count N --seed 7 --workers 2` and `f2p generate ... --ray ADDRESS`
against a local Ray cluster of 2 CPUs started once by this script (a cluster is long-lived; its
start-up is not the data factory's cost), then once `--ray` with no address (Ray started and
stopped by the command itself). Prints the median wall-clock rate of each and checks that every
shard file is byte-identical to the local run's. One machine can only show Ray's overhead.
Usage: python3 benchmarks/bench_ray_generate.py [--count 200] [--shard-size 20] [--repeats 3]
"""

import argparse
import filecmp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(count: int, shard_size: int, folder: Path, extra: list[str]) -> float:
    shutil.rmtree(folder, ignore_errors=True)
    command = [sys.executable, "-m", "f2p_engine", "generate", "--count", str(count), "--seed", "7",
               "--shard-size", str(shard_size), "-o", str(folder), *extra]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def identical(left: Path, right: Path) -> bool:
    for shard in sorted(p.name for p in left.iterdir() if p.is_dir()):
        names = sorted(p.name for p in (left / shard).iterdir())
        _, mismatch, errors = filecmp.cmpfiles(left / shard, right / shard, names, shallow=False)
        if mismatch or errors:
            return False
    return filecmp.cmp(left / "manifest.json", right / "manifest.json", shallow=False)


def main() -> None:
    from ray.cluster_utils import Cluster

    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--shard-size", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False,
                                                             "object_store_memory": 200 * 2**20})
    times: dict[str, list[float]] = {"local --workers 2": [], "--ray (running cluster)": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            print(f"load average at start: {os.getloadavg()[0]:.2f}")
            for _ in range(args.repeats):
                times["local --workers 2"].append(generate(args.count, args.shard_size, root / "local",
                                                           ["--workers", "2"]))
                times["--ray (running cluster)"].append(generate(args.count, args.shard_size, root / "ray",
                                                                 ["--ray", cluster.address]))
                print("  " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()), flush=True)
            same = identical(root / "local", root / "ray")
            cluster.shutdown()
            cluster = None
            one_shot = generate(args.count, args.shard_size, root / "ray_local", ["--ray"])
            same_one_shot = identical(root / "local", root / "ray_local")
            print(f"load average at end: {os.getloadavg()[0]:.2f}")
    finally:
        if cluster is not None:
            cluster.shutdown()
    local = statistics.median(times["local --workers 2"])
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"{name}: median {median:.1f} s = {args.count / median:.1f} samples/s "
              f"({100 * (median / local - 1):+.1f} % time vs local)")
    print(f"--ray without address (starts and stops its own Ray): {one_shot:.1f} s = {args.count / one_shot:.1f} "
          f"samples/s ({100 * (one_shot / local - 1):+.1f} %)")
    print(f"byte-identical to the local run: running cluster {same}, own Ray {same_one_shot}")


if __name__ == "__main__":
    main()
