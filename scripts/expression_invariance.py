"""Expression invariance of a model set on held-out renders (issue 19's goal: ratio <= 0.3), and on photos.

Each of RECIPES held-out recipes (seed 9001, the held-out seed of scripts/train_models.sh) is rendered
EXPRESSIONS times, all else equal (the sample's own pose, light, camera, background, degradation), each
time with another random expression of the generator's face units (one to three units, never
neutral); the ensemble (weights fitted on renders, no photo shift or de-shrinking) predicts the face
sliders (every slider outside `macro`). Per slider: `within` = root mean square over recipes of the
standard deviation across a recipe's expressions, `across` = standard deviation across recipes of the
recipe's mean prediction; ratio = within / across. Prints the median ratio over sliders and the ratio of
the pooled spreads (sqrt of summed variances), and writes them with the per-slider table as JSON.

With `--people DIR` (one folder of photos per person with several expressions, e.g. from
scripts/fetch_expression_photos.sh) and `--others DIR...` (photos of different people, the largest face of
each), photos are predicted as `f2p predict` does (the shipped recipe: de-shrunk, unfolded) and, per person,
ratio = the person's standard deviation across expressions / the standard deviation across the other people,
per face slider (median and pooled, as above).

Usage: python3 scripts/expression_invariance.py [--models DIR] [--recipes 50] [--expressions 10] [--out F.json]
       python3 scripts/expression_invariance.py --people DIR --others DIR [DIR ...] [--models DIR] [--out F.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.evaluate.likeness import photo_files
from f2p_engine.face.image import load_image
from f2p_engine.files import atomic_output
from f2p_engine.headmodel import schema
from f2p_engine.infer.pipeline import Predictor, predict_photo
from f2p_engine.recipe import continuous_vector
from f2p_engine.synth.augment import sample_expression
from f2p_engine.synth.factory import SampleFactory

HELD_OUT_SEED = 9001
#: Seed-sequence tag of the expressions' random stream (apart from the generator's own streams).
EXPRESSION_STREAM = 7


def expression_draws(count: int, recipe_index: int) -> list[dict[str, float]]:
    """`count` non-neutral expressions of the generator's distribution for one recipe."""
    rng = np.random.default_rng([HELD_OUT_SEED, recipe_index, EXPRESSION_STREAM])
    draws: list[dict[str, float]] = []
    while len(draws) < count:
        expression = sample_expression(rng)
        if expression:
            draws.append(expression)
    return draws


def invariance(predictions: np.ndarray) -> dict[str, object]:
    """(R, E, p) predictions of p sliders for R recipes x E expressions -> the ratios of the module doc."""
    within = np.sqrt(predictions.var(axis=1).mean(axis=0))
    across = predictions.mean(axis=1).std(axis=0)
    return {**_ratios(within, across), "within": within.tolist(), "across": across.tolist(),
            "ratios": (within / np.maximum(across, 1e-9)).tolist()}


def _ratios(within: np.ndarray, across: np.ndarray) -> dict[str, float]:
    """Median over sliders of within / across, and the ratio of the pooled spreads."""
    return {"median_ratio": float(np.median(within / np.maximum(across, 1e-9))),
            "pooled_ratio": float(np.sqrt((within ** 2).sum() / (across ** 2).sum()))}


def photo_invariance(person: np.ndarray, others: np.ndarray) -> dict[str, float]:
    """(E, p) predictions of one person's E photos and (N, p) of N other people -> median and pooled ratios."""
    return {**_ratios(person.std(axis=0), others.std(axis=0)), "photos": len(person)}


def photo_sliders(predictor: Predictor, paths: list[Path], face: list[int]) -> np.ndarray:
    """(n, p) [0, 1] face sliders of the recipes `f2p predict` gives for the photos that hold a face."""
    rows = []
    for path in paths:
        try:
            prediction, _ = predict_photo(predictor, load_image(path))
        except InputError as exc:
            print(f"skipped: {exc}")
            continue
        rows.append(continuous_vector(prediction.recipe)[face])
    return np.asarray(rows, dtype=np.float64)


def measure_photos(predictor: Predictor, people: Path, others: list[Path], face: list[int]) -> dict[str, object]:
    reference = photo_sliders(predictor, [p for folder in others for p in photo_files(folder)], face)
    result: dict[str, object] = {"others": len(reference), "people": {}}
    for folder in sorted(d for d in people.iterdir() if d.is_dir()):
        person = photo_invariance(photo_sliders(predictor, photo_files(folder), face), reference)
        result["people"][folder.name] = person
        print(f"{folder.name}: {person['photos']} photos, median ratio {person['median_ratio']:.3f}, pooled ratio "
              f"{person['pooled_ratio']:.3f} against {len(reference)} other people")
    return result


def measure_renders(predictor: Predictor, recipes: int, expressions: int, size: int, face: list[int]
                    ) -> dict[str, object]:
    factory = SampleFactory(size, descriptors=False)
    predictions = np.zeros((recipes, expressions, len(face)))
    for r in range(recipes):
        samples = [factory.make(HELD_OUT_SEED, r, expression=e) for e in expression_draws(expressions, r)]
        outputs = predictor.run_all(np.stack([s.image for s in samples]), np.stack([s.landmarks for s in samples]))
        continuous, _, _ = predictor.combine(outputs, predictor.fitted_weights)
        predictions[r] = continuous[:, face]
        print(f"\rrecipes {r + 1}/{recipes}", end="", flush=True)
    print()
    result = invariance(predictions)
    print(f"expression invariance: median ratio {result['median_ratio']:.3f}, pooled ratio "
          f"{result['pooled_ratio']:.3f} over {len(face)} face sliders (goal <= 0.3)")
    return {**result, "recipes": recipes, "expressions": expressions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=None, help="model directory (default: the shipped models)")
    parser.add_argument("--recipes", type=int, default=50)
    parser.add_argument("--expressions", type=int, default=10)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--people", type=Path, default=None, help="one folder of photos per person (photo mode)")
    parser.add_argument("--others", type=Path, nargs="+", default=[], help="folders of photos of other people")
    parser.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args()

    predictor = Predictor.load(args.models)
    face = [i for i, p in enumerate(schema.CONTINUOUS) if p.region != "macro"]
    if args.people is not None:
        result = measure_photos(predictor, args.people, args.others, face)
    else:
        result = measure_renders(predictor, args.recipes, args.expressions, args.size, face)
    result.update(models=str(predictor.manifest.directory), sliders=[schema.CONTINUOUS[i].name for i in face])
    if args.out is not None:
        with atomic_output(args.out) as temporary:
            temporary.write_text(json.dumps(result, indent=1))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
