"""Fusion on synthetic data: one recipe rendered under several poses and lights -> single vs fused L1.

For each of `count` recipes of `seed`, `views` renders differ in everything but the face (pose,
light, camera, background, degradation: `SampleFactory.make(..., view=v)`); each render is
predicted with the weights fitted on renders, the predictions are fused per region by confidence
(`infer.fusion.fuse_predictions`, what `f2p predict --fuse` does) and, for comparison, by a plain
mean. Per region: mean L1 of the single renders, of the fused recipe and of the plain mean, in
normalised units. A weighted mean's L1 can never exceed the same weighted mean of the single L1s
(triangle inequality), so "fused below the mean single L1" mostly shows that the views' errors
differ; the confidence weighting earns its keep only if it beats the plain mean.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from f2p_engine.headmodel import schema
from f2p_engine.infer.fusion import fuse_predictions
from f2p_engine.infer.pipeline import Predictor

#: Renders per recipe (the issue's goal: three photos of one person).
VIEWS = 3


def evaluate_fusion(predictor: Predictor, count: int, seed: int, views: int = VIEWS, size: int | None = None,
                    progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Single-render vs fused L1 per region over `count` recipes of `seed`, each rendered `views` times.

    `size`: render side (default: the models' training data size). `progress(1)` per recipe.
    """
    from f2p_engine.synth.factory import SampleFactory

    factory = SampleFactory(size or int(predictor.manifest.data.get("size", 256)))
    regions = np.array([p.region for p in schema.CONTINUOUS])
    single, fused, plain = (np.empty((count, len(regions))) for _ in range(3))
    for i in range(count):
        samples = [factory.make(seed, i, view=v + 1) for v in range(views)]
        truth = samples[0].continuous.astype(np.float64)
        outputs = predictor.run_all(np.stack([s.image for s in samples]), np.stack([s.landmarks for s in samples]),
                                    np.stack([s.descriptor for s in samples]))
        continuous, probabilities, confidence = predictor.combine(outputs, weights=predictor.fitted_weights)
        predictions = [predictor.prediction(continuous[v], {g: p[v] for g, p in probabilities.items()},
                                            {r: float(c[v]) for r, c in confidence.items()}) for v in range(views)]
        single[i] = np.abs(continuous - truth).mean(axis=0)
        fused[i] = np.abs(fuse_predictions(predictions).prediction.continuous - truth)
        plain[i] = np.abs(continuous.mean(axis=0) - truth)
        if progress:
            progress(1)
    table = {}
    for region in dict.fromkeys(regions):
        columns = regions == region
        table[str(region)] = {name: float(errors[:, columns].mean())
                              for name, errors in (("single_l1", single), ("fused_l1", fused), ("mean_l1", plain))}
    return {"recipes": count, "views": views, "seed": seed, "regions": table}


def fusion_goal(fusion: dict[str, Any]) -> bool:
    """The issue's goal: fused L1 below the mean single-render L1 in every region."""
    return all(r["fused_l1"] < r["single_l1"] for r in fusion["regions"].values())


def fusion_section(fusion: dict[str, Any]) -> list[str]:
    """Report lines of `evaluate_fusion`'s table."""
    lines = ["## Fusion of several renders of one recipe", "",
             f"{fusion['recipes']} recipes of seed {fusion['seed']}, each rendered {fusion['views']} times under other "
             "pose, light, camera, background and degradation; weights fitted on renders. `single`: mean L1 of "
             "the single renders; `fused`: combined per region by confidence (`f2p predict --fuse`); `plain mean`: "
             "equal weights. A weighted mean cannot be worse than the same weighting of its parts, so the test of "
             "the confidence weighting is fused against plain mean.", "",
             "| region | single | fused | plain mean | fused / single |", "|---|---|---|---|---|"]
    for region, row in fusion["regions"].items():
        lines.append(f"| {region} | {row['single_l1']:.4f} | {row['fused_l1']:.4f} | {row['mean_l1']:.4f} | "
                     f"{row['fused_l1'] / row['single_l1']:.3f} |")
    return [*lines, ""]
