"""Likeness on real photos (the paper's Table 4): photos + `Predictor` -> identity distances.

For each photo and each domain adapter, the recipe predicted from the photo is rendered head-on
(`render_recipe`, as `f2p render` draws it), the face in the render is found with the same dlib
detector, and its 128-D identity descriptor is compared with the photo's own (taken on the
original photo, at its largest face) by cosine distance: 0 = same direction, lower = more alike.
Dlib's ResNet descriptor stands in for the paper's FaceNet.

Two baselines put the numbers in scale:
- `mean_head`: the render of the default recipe (the neutral MakeHuman head) against every photo;
- `other_reconstruction`, per adapter: photo i against the render reconstructed from another photo
  (the next one in order among those with a usable render, cyclically). If reconstructions carry
  identity, a photo is closer to its own reconstruction than to another person's.

Photos are keyed by file name (names must be unique). A photo that cannot be read or holds no
face is skipped and listed; so is, per adapter, a photo whose render has no detectable face.
Only the largest face of a photo is used.

The result is a plain dict for metrics.json:
{"photos": files given, "used": photos with a face, "render_size": S,
 "skipped": {"unreadable": {file: message}, "no_face": [file], "no_face_in_render": {adapter: [file]}},
 "adapters": {adapter: SUMMARY}, "mean_head": SUMMARY, "other_reconstruction": {adapter: SUMMARY}}
where SUMMARY = {"photos": n, "mean_distance", "median_distance" (None when n = 0),
"per_photo": {file: distance}}; `other_reconstruction` summaries also hold "paired_with": {file: file}.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from f2p_engine.adapt import available_adapters, create_adapter, stylise
from f2p_engine.errors import InputError
from f2p_engine.face.aligned import align_photo
from f2p_engine.face.detect import detect_faces
from f2p_engine.face.identity import cosine_distance, identity_descriptor
from f2p_engine.face.image import RGBImage, load_image
from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.infer.pipeline import Predictor
from f2p_engine.recipe import Recipe
from f2p_engine.render.recipe_view import render_recipe
from f2p_engine.render.renderer import Renderer

#: Side of the head-on renders in pixels (the face spans ~115 px: ample for dlib's 150 px chip).
RENDER_SIZE = 256
#: Image file endings `photo_files` picks up (lower case).
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def photo_files(directory: str | os.PathLike[str]) -> list[Path]:
    """The image files directly in `directory` (by ending, any case), sorted by name.

    InputError if `directory` is not a folder or holds none.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a directory")
    photos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    if not photos:
        raise InputError(f"{folder}: no photos ({', '.join(PHOTO_SUFFIXES)})")
    return photos


def _summary(per_photo: dict[str, float]) -> dict[str, Any]:
    values = list(per_photo.values())
    return {"photos": len(values), "mean_distance": float(np.mean(values)) if values else None,
            "median_distance": float(np.median(values)) if values else None, "per_photo": per_photo}


class _RenderDescriptors:
    """Recipe -> identity descriptor of its head-on render (None when dlib finds no face in it)."""

    def __init__(self, size: int) -> None:
        self.renderer = Renderer(size)
        self.head = HeadModel(vertex_ids=self.renderer.vertex_ids)

    def __call__(self, recipe: Recipe, source: str) -> np.ndarray | None:
        render = RGBImage(pixels=render_recipe(recipe, self.renderer, head=self.head), source=source)
        faces = detect_faces(render)
        return identity_descriptor(render, faces[0]) if faces else None


def evaluate_likeness(predictor: Predictor, photos: Sequence[str | os.PathLike[str]],
                      adapters: Sequence[str] | None = None, *, render_size: int = RENDER_SIZE,
                      progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Identity distances between photos and renders of their reconstructions (see the module doc).

    `adapters`: registry names (default: every registered adapter). `progress(1)` is called after
    each photo. InputError if two photos share a file name or the neutral head's render has no
    detectable face (then no distance means anything).
    """
    paths = [Path(p) for p in photos]
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise InputError(f"photos must have distinct file names: {sorted({n for n in names if names.count(n) > 1})}")
    adapters = list(adapters if adapters is not None else available_adapters())
    instances = {name: create_adapter(name) for name in adapters}
    describe = _RenderDescriptors(render_size)
    mean_head = describe(Recipe(), "render of the default recipe")
    if mean_head is None:
        raise InputError("no face found in the render of the default recipe: identity distances are meaningless")

    unreadable: dict[str, str] = {}
    no_face: list[str] = []
    photo_descriptors: dict[str, np.ndarray] = {}
    render_descriptors: dict[str, dict[str, np.ndarray]] = {name: {} for name in adapters}

    def measure(path: Path) -> None:
        try:
            image = load_image(path)
        except InputError as exc:
            unreadable[path.name] = str(exc)
            return
        try:
            face = align_photo(image)
        except InputError:
            no_face.append(path.name)
            return
        photo_descriptors[path.name] = identity_descriptor(image, face.detection)
        for name, adapter in instances.items():
            adapted = stylise(face, adapter)
            recipe = predictor.predict_aligned(adapted.image, adapted.landmarks, base=Recipe(name=path.stem)).recipe
            descriptor = describe(recipe, f"render of {path.name} ({name})")
            if descriptor is not None:
                render_descriptors[name][path.name] = descriptor

    for path in paths:
        measure(path)
        if progress:
            progress(1)

    def distances(pairs: dict[str, str], renders: dict[str, np.ndarray]) -> dict[str, float]:
        return {photo: cosine_distance(photo_descriptors[photo], renders[render]) for photo, render in pairs.items()}

    own, other = {}, {}
    for name, renders in render_descriptors.items():
        own[name] = _summary(distances({p: p for p in renders}, renders))
        usable = list(renders)
        shifted = dict(zip(usable, usable[1:] + usable[:1], strict=True)) if len(usable) > 1 else {}
        other[name] = {**_summary(distances(shifted, renders)), "paired_with": shifted}
    return {
        "photos": len(paths), "used": len(photo_descriptors), "render_size": render_size,
        "skipped": {"unreadable": unreadable, "no_face": no_face,
                    "no_face_in_render": {n: [p for p in photo_descriptors if p not in r]
                                          for n, r in render_descriptors.items()}},
        "adapters": own,
        "mean_head": _summary(distances({p: "mean" for p in photo_descriptors}, {"mean": mean_head})),
        "other_reconstruction": other,
    }
