"""Choosing the photo weights: per region, how far the members' weights move toward the identity member.

Weights fitted on held-out renders trust the pixel CNNs, which are better on renders and worse on
photos (they read photos through a domain gap; the identity member reads a representation trained
on real faces). `choose_photo_shift` searches, per region, the amount a in `GRID` of
`ensemble.photo_weights` that minimises one judge's mean rank percentile on the given photos (ties:
the mean distance), by coordinate descent from the better of "fitted" (all 0) and "identity" (all 1).
Run it on the development photos only, with the FaceNet judge (the dlib judge is not independent
of the identity member); the result goes into the model manifest as `photo_shift`. Gender and Age
come from the macro member and colours are measured throughout, as in `f2p predict`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from f2p_engine.ensemble import photo_weights
from f2p_engine.evaluate.likeness import PhotoFace, RenderEmbedder, judge_reconstructions
from f2p_engine.headmodel import schema
from f2p_engine.infer.pipeline import Predictor

GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShiftChoice:
    """The chosen region -> amount, its judge score (rank percentile, mean distance) and every score tried."""

    shift: dict[str, float]
    score: tuple[float, float]
    tried: list[tuple[dict[str, float], tuple[float, float]]]


def choose_photo_shift(predictor: Predictor, faces: Sequence[PhotoFace], adapter: str, embed: RenderEmbedder,
                       judge: str = "facenet", *, grid: Sequence[float] = GRID,
                       rounds: int = 2, progress: Callable[[int], None] | None = None) -> ShiftChoice:
    """Coordinate descent over `schema.REGIONS` (see the module doc); `progress(1)` per score."""
    tried: list[tuple[dict[str, float], tuple[float, float]]] = []

    def score(shift: dict[str, float]) -> tuple[float, float]:
        weights = photo_weights(predictor.fitted_weights, shift, predictor.identity_params)
        result = judge_reconstructions(predictor, faces, adapter, weights, embed, judges=[judge],
                                       readings=True).judges[judge]
        value = (result.mean_rank_percentile, result.mean_distance)
        tried.append((dict(shift), value))
        if progress:
            progress(1)
        return value

    starts = [{region: a for region in schema.REGIONS} for a in (grid[0], grid[-1])]
    best, best_score = min(((s, score(s)) for s in starts), key=lambda pair: pair[1])
    for _ in range(rounds):
        improved = False
        for region in schema.REGIONS:
            for amount in grid:
                if amount == best[region]:
                    continue
                candidate = {**best, region: amount}
                value = score(candidate)
                if value < best_score:
                    best, best_score, improved = candidate, value, True
        if not improved:
            break
    return ShiftChoice(shift=best, score=best_score, tried=tried)
