#!/usr/bin/env python3
"""Choose the 68 hm08 vertices that play dlib's 68 landmarks (prints `MESH_LANDMARKS`).

Renders random recipes of the training distribution head-on (256 px, neutral expression, grey
background), runs dlib's detector and 68-point predictor on each render, and for every landmark
keeps the head vertex whose projection is closest on average (mean squared pixel distance) to
dlib's point. Left/right pairs of dlib points are chosen together as a vertex and its mirror
(hm08 mirror table), midline points among midline vertices, so the result is symmetric.
The result is pasted into `f2p_engine/render/landmarks.py`; `benchmarks/bench_landmarks.py`
measures the agreement on other recipes.
Usage: python scripts/pick_mesh_landmarks.py [--count 60] [--seed 1000]
"""

from __future__ import annotations

import argparse

import numpy as np

from f2p_engine.face.detect import detect_faces
from f2p_engine.face.image import RGBImage
from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.render.landmarks import DLIB_MIRROR
from f2p_engine.render.renderer import Renderer, head_shift, project
from f2p_engine.render.scene import Appearance, Pose, face_camera
from f2p_engine.synth.sampler import sample_recipes

SIZE = 256


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
    errors = np.zeros((68, len(candidates)))
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
        errors += ((points[None, :, :] - faces[0].landmarks[:, None, :]) ** 2).sum(axis=2)
        used += 1
    errors /= max(used, 1)

    mirror = renderer.asset.mirror
    position = {int(v): i for i, v in enumerate(candidates)}
    partner = np.array([position.get(int(mirror[v]), -1) for v in candidates])
    chosen = [0] * 68
    for k in range(68):
        j = DLIB_MIRROR[k]
        if j < k:
            continue
        if j == k:
            own = np.flatnonzero(partner == np.arange(len(candidates)))
            chosen[k] = int(candidates[own[np.argmin(errors[k, own])]])
            continue
        paired = np.flatnonzero(partner >= 0)
        total = errors[k, paired] + errors[j, partner[paired]]
        best = paired[np.argmin(total)]
        chosen[k], chosen[j] = int(candidates[best]), int(candidates[partner[best]])
    rms = np.sqrt(np.mean([errors[k, position[v]] for k, v in enumerate(chosen)]))
    print(f"# {used} of {args.count} renders detected; RMS distance of the chosen vertices {rms:.2f} px")
    print(f"MESH_LANDMARKS = {tuple(chosen)}")


if __name__ == "__main__":
    main()
