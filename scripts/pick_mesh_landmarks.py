#!/usr/bin/env python3
"""Choose the hm08 vertices that play the face finder's points (prints `MESH_LANDMARKS`, `MESH_468`).

Renders random recipes of the training distribution head-on (256 px, neutral expression, grey
background), runs the face finder (`face.detect`: MediaPipe's detector and 468-point mesh, and the 68
dlib-order points derived from it) on each render, and for every point keeps the head vertex whose
projection is closest on average (mean squared pixel distance). Left/right pairs of the 68 points are
chosen together as a vertex and its mirror (hm08 mirror table), midline points among midline
vertices, so the 68 are symmetric; the 468 are chosen one by one (the finder's own mesh is not
exactly symmetric on renders either). The result is pasted into `f2p_engine/render/landmarks.py`;
`benchmarks/bench_landmarks.py` measures the agreement on other recipes.
Usage: python scripts/pick_mesh_landmarks.py [--count 60] [--seed 1000]
"""

from __future__ import annotations

import argparse
import textwrap

import numpy as np

from f2p_engine.face.detect import detect_faces
from f2p_engine.face.facemesh import MESH_POINTS
from f2p_engine.face.image import RGBImage
from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.render.landmarks import DLIB_MIRROR
from f2p_engine.render.renderer import Renderer, head_shift, project
from f2p_engine.render.scene import Appearance, Pose, face_camera
from f2p_engine.synth.sampler import sample_recipes

SIZE = 256


def symmetric_choice(errors: np.ndarray, candidates: np.ndarray, mirror: np.ndarray) -> list[int]:
    """Per dlib point the candidate vertex of least error, pairs chosen as a vertex and its mirror."""
    position = {int(v): i for i, v in enumerate(candidates)}
    partner = np.array([position.get(int(mirror[v]), -1) for v in candidates])
    chosen = [0] * len(DLIB_MIRROR)
    for k, j in enumerate(DLIB_MIRROR):
        if j < k:
            continue
        if j == k:
            own = np.flatnonzero(partner == np.arange(len(candidates)))
            chosen[k] = int(candidates[own[np.argmin(errors[k, own])]])
            continue
        paired = np.flatnonzero(partner >= 0)
        best = paired[np.argmin(errors[k, paired] + errors[j, partner[paired]])]
        chosen[k], chosen[j] = int(candidates[best]), int(candidates[partner[best]])
    return chosen


def rms_px(errors: np.ndarray, candidates: np.ndarray, chosen: list[int]) -> float:
    position = {int(v): i for i, v in enumerate(candidates)}
    return float(np.sqrt(np.mean([errors[k, position[v]] for k, v in enumerate(chosen)])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()

    model, renderer = HeadModel(), Renderer(SIZE)
    mesh, rest = renderer.mesh, renderer.asset.base_coords
    skin = np.unique(mesh.triangles[mesh.part == 0])
    candidates = mesh.vertex_ids[skin[rest[mesh.vertex_ids[skin], 2] > 0.2]]
    camera, pose = face_camera(), Pose()
    errors68 = np.zeros((68, len(candidates)))
    errors468 = np.zeros((MESH_POINTS, len(candidates)))
    used = 0
    for recipe in sample_recipes(args.count, args.seed):
        vertices = model.vertices(recipe.modifiers)
        out = renderer.render(vertices, camera, pose=pose,
                              appearance=Appearance(skin=recipe.choice("skin"), eye_colour=recipe.choice("eye_colour")))
        image = np.where(out.labels[:, :, None] > 0, out.image, np.uint8(128))
        faces = detect_faces(RGBImage(pixels=np.ascontiguousarray(image), source=recipe.name))
        if not faces:
            continue
        points = project(vertices[candidates] + head_shift(vertices), pose.matrix(), camera.view_projection(), SIZE)
        errors68 += ((points[None, :, :] - faces[0].landmarks[:, None, :]) ** 2).sum(axis=2)
        errors468 += ((points[None, :, :] - faces[0].mesh[:, None, :2]) ** 2).sum(axis=2)
        used += 1
    errors68 /= max(used, 1)
    errors468 /= max(used, 1)

    chosen68 = symmetric_choice(errors68, candidates, renderer.asset.mirror)
    chosen468 = [int(v) for v in candidates[np.argmin(errors468, axis=1)]]
    print(f"# {used} of {args.count} renders with a face; RMS distance of the chosen vertices: "
          f"68 points {rms_px(errors68, candidates, chosen68):.2f} px, "
          f"468 points {rms_px(errors468, candidates, chosen468):.2f} px")
    for name, chosen in (("MESH_LANDMARKS", chosen68), ("MESH_468", chosen468)):
        print(f"{name}: tuple[int, ...] = (")
        print(textwrap.fill(", ".join(map(str, chosen)) + ",", 116, initial_indent="    ", subsequent_indent="    "))
        print(")")


if __name__ == "__main__":
    main()
