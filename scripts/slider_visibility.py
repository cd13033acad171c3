"""How visible is each slider? Pixels its targets move the face in the aligned training frame.

For every face slider at one sampling standard deviation (`synth.sampler.SLIDER_SIGMA`; the head
shapes, which are sampled sparse, at a given value), on the neutral head: the largest and the mean of the
50 largest image-plane displacements of front-facing bust vertices (z above the median),
in pixels of a SIZE x SIZE aligned face (head-on, orthographic; scale from the eye targets).
Depth-only sliders show ~0 px here although shading still reveals some of them.

    python scripts/slider_visibility.py [--size 256] [--head-shape 0.2] [--csv OUT.csv]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from f2p_engine.face.align import eye_targets
from f2p_engine.headmodel import schema
from f2p_engine.headmodel.mesh import HeadModel, default_modifiers, head_mesh
from f2p_engine.render.landmarks import MESH_LANDMARKS
from f2p_engine.synth.sampler import HEAD_SHAPE_MODIFIERS, SLIDER_SIGMA

TOP = 50


def displacements(size: int, head_shape: float) -> list[tuple[str, str, float, float]]:
    """(region, name, max px, mean of the TOP largest px) per face slider."""
    mesh = head_mesh()
    model = HeadModel(vertex_ids=mesh.vertex_ids)
    neutral = default_modifiers()
    rest = model.vertices(neutral)
    local = {int(v): i for i, v in enumerate(mesh.vertex_ids)}
    points = rest[[local[v] for v in MESH_LANDMARKS], :2]
    eye_gap = abs(points[42:48, 0].mean() - points[36:42, 0].mean())
    targets = eye_targets(size)
    px_per_dm = float(targets[1, 0] - targets[0, 0]) / eye_gap
    front = rest[:, 2] > np.median(rest[:, 2])

    def moved(changes: dict[str, float]) -> tuple[float, float]:
        shift = np.linalg.norm((model.vertices({**neutral, **changes}) - rest)[front, :2], axis=1) * px_per_dm
        return float(shift.max()), float(np.sort(shift)[-TOP:].mean())

    rows = [(p.region, p.name if p.name not in HEAD_SHAPE_MODIFIERS else f"{p.name} at {head_shape:g}",
             *moved({p.name: head_shape if p.name in HEAD_SHAPE_MODIFIERS else SLIDER_SIGMA}))
            for p in schema.CONTINUOUS if p.region != "macro"]
    return sorted(rows, key=lambda row: (row[0], row[3]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="aligned face side in pixels (default 256)")
    parser.add_argument("--head-shape", type=float, default=0.2, help="value of each head shape (default 0.2)")
    parser.add_argument("--csv", type=Path, default=None, help="also write the table as CSV")
    args = parser.parse_args(argv)
    rows = displacements(args.size, args.head_shape)
    print(f"| region | slider (at {SLIDER_SIGMA} = 1 sigma) | max px | top-{TOP} mean px |\n|---|---|---|---|")
    for region, name, peak, mean in rows:
        print(f"| {region} | {name} | {peak:.2f} | {mean:.2f} |")
    for region in dict.fromkeys(row[0] for row in rows):
        means = [row[3] for row in rows if row[0] == region]
        print(f"{region}: median top-{TOP} mean {np.median(means):.2f} px over {len(means)} sliders", file=sys.stderr)
    if args.csv:
        with args.csv.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["region", "name", "max_px", f"top{TOP}_mean_px"])
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
