"""Visible folds before and after `FoldFinder.fold_free`: counts and times, on prior recipes and photos.

Prior recipes are `f2p sample`'s (the training distribution, `synth.sampler`); photos are predicted
with the shipped models, every face of each photo; "before" is the ensemble's own recipe
(`Prediction.continuous`), "after" the recipe predict writes. Times are medians per recipe, quoted
with the load average.
Usage: OPENBLAS_NUM_THREADS=1 python3 benchmarks/bench_folds.py [--count 1000] [--seed 0] [PHOTO ...]
"""

import argparse
import os
import statistics
import time
from pathlib import Path

from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.recipe import Recipe, recipe_from_parameters
from f2p_engine.render.folds import FoldFinder
from f2p_engine.synth.sampler import sample_recipes


def _count(finder: FoldFinder, recipes: list[Recipe], label: str) -> None:
    folded, after_folded, check, unfold, moved = 0, 0, [], [], []
    for recipe in recipes:
        began = time.perf_counter()
        folds = finder.folds(recipe)
        check.append(time.perf_counter() - began)
        if not folds:
            continue
        folded += 1
        began = time.perf_counter()
        unfolded = finder.fold_free(recipe)
        unfold.append(time.perf_counter() - began)
        moved.append(len(unfolded.moved))
        after_folded += bool(finder.folds(unfolded.recipe))
    print(f"{label}: {folded}/{len(recipes)} with a visible fold before, {after_folded} after; "
          f"check {statistics.median(check) * 1000:.1f} ms median; "
          + (f"fold_free {statistics.median(unfold) * 1000:.0f} ms median (max {max(unfold) * 1000:.0f}), "
             f"sliders moved median {statistics.median(moved):.0f} (max {max(moved)})" if unfold else ""))


def _photo_recipes(photos: list[Path]) -> tuple[list[Recipe], list[Recipe]]:
    """(the ensemble's recipes, the recipes predict writes) of every face of `photos`."""
    from f2p_engine.infer.batch import predict_faces
    from f2p_engine.infer.pipeline import Predictor

    predictor = Predictor.load()
    before, after = [], []
    for photo in photos:
        for prediction in predict_faces(predictor, photo, DEFAULT_ADAPTER, all_faces=True)[0]:
            choices = {g: prediction.recipe.choice(g) for g in prediction.probabilities}
            before.append(recipe_from_parameters(prediction.continuous, choices))
            after.append(prediction.recipe)
    return before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("photos", nargs="*", type=Path)
    args = parser.parse_args()
    finder = FoldFinder()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    if args.count:
        _count(finder, list(sample_recipes(args.count, args.seed)), f"{args.count} prior recipes (seed {args.seed})")
    if args.photos:
        before, after = _photo_recipes(args.photos)
        _count(finder, before, f"{len(before)} photo faces, ensemble recipe")
        _count(finder, after, f"{len(after)} photo faces, predicted recipe")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
