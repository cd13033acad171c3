"""One synthetic sample: (seed, index) -> recipe -> augmented render -> aligned `Sample` with labels.

The pipeline per sample: draw recipe `index` of `seed` (sampler) and its augmentation (its own
random stream), evaluate the mesh (only the rendered vertices), add the expression, project the
mesh landmarks, align them with the photo pipeline's own functions (`face.align`: eye centres to
the fixed pixels), render straight into that aligned frame (the similarity is folded into the
projection: no resampling, no pixels drawn outside the frame), over a procedural
background, degrade photometrically, compute the region boxes from the aligned landmarks, and
describe the face with dlib's identity ResNet (`face.identity.face_descriptor`, the procedure the
identity member applies to photos; ~80-180 ms a sample, 90% of a sample's cost; optional: training
computes the descriptors of samples that lack them with the same function).
Sample `index` of `seed` depends on nothing else, so shards can be made in any order, by any
worker, and come out byte-identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from f2p_engine.face.align import alignment_transform, eye_targets, region_boxes
from f2p_engine.face.identity import face_descriptor
from f2p_engine.headmodel import schema
from f2p_engine.headmodel.asset import default_asset
from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.recipe import Recipe, continuous_vector, discrete_indices
from f2p_engine.render.renderer import Renderer
from f2p_engine.synth.augment import (
    Augmentation,
    AugmentConfig,
    degrade,
    render_background,
    sample_augmentation,
)
from f2p_engine.synth.sampler import recipe_at

#: Seed-sequence tag of the augmentation stream (the recipe stream is `recipe_rng(seed, index)`).
_AUGMENT_STREAM = 1
_PHOTOMETRIC_STREAM = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One aligned synthetic sample of size S.

    `image`: (S, S, 3) uint8 RGB; `labels`: (S, S) uint8 region ids (`render.regions.LABELS`);
    `landmarks`: (68, 2) float32 aligned pixels, dlib order; `mesh_points`: (468, 2) float32 aligned
    pixels of the vertices playing MediaPipe's face mesh points (`render.landmarks.MESH_468`);
    `boxes`: (len(LOCAL_REGIONS), 4) int32 x0, y0, x1, y1 aligned pixels (may extend past the image);
    `continuous`: (P,) float32 schema values normalised to [0, 1];
    `discrete`: (len(DISCRETE_GROUPS),) int64 option indices;
    `pose`: (3,) float32 yaw, pitch, roll in degrees; `descriptor`: (128,) float32 dlib identity
    descriptor of `image` (`face.identity.face_descriptor`), None from a factory without descriptors.
    """

    index: int
    recipe: Recipe
    augmentation: Augmentation
    image: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)
    mesh_points: np.ndarray = field(repr=False)
    boxes: np.ndarray = field(repr=False)
    continuous: np.ndarray = field(repr=False)
    discrete: np.ndarray = field(repr=False)
    pose: np.ndarray = field(repr=False)
    descriptor: np.ndarray | None = field(repr=False)


class SampleFactory:
    """Makes samples of one size; holds the head model and a GL renderer (one per process).

    `model` evaluates only the renderer's vertices (`renderer.vertex_ids`). With `descriptors=False`
    samples carry no identity descriptor (10x faster).
    """

    def __init__(self, size: int = 256, config: AugmentConfig | None = None, descriptors: bool = True) -> None:
        self.size = size
        self.config = config or AugmentConfig()
        self.descriptors = descriptors
        asset = default_asset()
        self.renderer = Renderer(size, asset)
        self.model = HeadModel(asset, vertex_ids=self.renderer.vertex_ids)
        targets = eye_targets(size)
        self._eye_distance = float(np.hypot(*(targets[1] - targets[0]))) / size

    def make(self, seed: int, index: int, view: int = 0, expression: Mapping[str, float] | None = None) -> Sample:
        """Sample `index` of `seed`. `view` > 0 renders the same recipe under another draw of pose, light,
        camera, background and degradation (view 0 is the dataset's own sample); `expression` (face unit ->
        weight) replaces the drawn one, all else equal (how expression invariance is measured)."""
        recipe = recipe_at(seed, index)
        streams = [] if view == 0 else [view]  # view 0: the dataset's own seed sequences (same bytes)
        rng = np.random.default_rng([seed, index, _AUGMENT_STREAM, *streams])
        augmentation = sample_augmentation(rng, recipe, self.config, eye_distance=self._eye_distance)
        if expression is not None:
            augmentation = replace(augmentation, expression=dict(expression))
        vertices = self.model.vertices(recipe.modifiers)
        if augmentation.expression:
            vertices = self.model.apply_expression(vertices, augmentation.expression)
        size = self.size
        # The background is drawn first, so semi-transparent hair blends over it.
        rendering = self.renderer.render(vertices, augmentation.camera, pose=augmentation.pose,
                                         lighting=augmentation.lighting, appearance=augmentation.appearance,
                                         frame=lambda landmarks: alignment_transform(landmarks, size),
                                         background=render_background(augmentation.background, size))
        image = rendering.image
        photometric_rng = np.random.default_rng([seed, index, _PHOTOMETRIC_STREAM, *streams])
        image = degrade(image, augmentation.photometric, photometric_rng)

        boxes = region_boxes(rendering.landmarks, size)
        return Sample(
            index=index, recipe=recipe, augmentation=augmentation, image=image, labels=rendering.labels,
            landmarks=rendering.landmarks, mesh_points=rendering.mesh_points,
            boxes=np.array([boxes[r].as_list() for r in schema.LOCAL_REGIONS], dtype=np.int32),
            continuous=continuous_vector(recipe),
            discrete=np.array(list(discrete_indices(recipe).values()), dtype=np.int64),
            pose=np.array([augmentation.pose.yaw, augmentation.pose.pitch, augmentation.pose.roll], dtype=np.float32),
            descriptor=face_descriptor(image, rendering.landmarks) if self.descriptors else None,
        )
