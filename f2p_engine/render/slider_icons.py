"""Slider icons: a schema slider -> a tiny before/after picture of what it does.

The neutral head with the slider at its minimum (left half) and at its maximum (right half), framed on
the slider's region, from the front, or in profile for sliders that move things toward or away from
the viewer (projection, depth, humps). Rendered by the offscreen renderer at twice the icon size and
shrunk, so edges are smooth. Built once per schema and cached by the caller (the studio caches them on
disk outside the repository).
"""

from __future__ import annotations

import numpy as np

from f2p_engine.headmodel.mesh import HeadModel, default_modifiers
from f2p_engine.headmodel.schema import ContinuousParam, modifier_targets
from f2p_engine.recipe import Recipe
from f2p_engine.render.renderer import Renderer
from f2p_engine.render.scene import EYE_MIDPOINT, Camera, Pose, appearance_of

#: Pixels of each half of an icon (an icon is ICON_SIZE high and 2 * ICON_SIZE wide).
ICON_SIZE = 48
#: Bumped when the pictures change, so caches keyed by it are rebuilt.
ICON_VERSION = 1
_FOV = 20.0
#: Per region: (frame width dm, frame centre offset from the eye midpoint dm (x, y, z)).
_FRAMES: dict[str, tuple[float, tuple[float, float, float]]] = {
    "macro": (3.0, (0.0, -0.3, -0.4)), "head": (2.8, (0.0, -0.1, -0.4)), "forehead": (1.9, (0.0, 0.5, -0.2)),
    "eyebrows": (1.5, (0.0, 0.3, 0.0)), "eyes": (0.9, (0.33, 0.0, 0.0)), "nose": (1.1, (0.0, -0.45, 0.2)),
    "mouth": (1.2, (0.0, -0.85, 0.1)), "chin": (1.6, (0.0, -1.0, 0.0)), "cheeks": (1.4, (0.4, -0.4, 0.0)),
}
#: Target words whose effect shows in profile.
_PROFILE_WORDS = ("backward", "depth", "hump", "greek", "curve", "compression", "prominent", "prognathism",
                  "septumangle", "head-angle", "nose-point-down", "forehead-trans")


def _uses_profile(param: ContinuousParam) -> bool:
    targets = " ".join(t for t in modifier_targets(param.name) if t)
    return any(word in targets for word in _PROFILE_WORDS)


def _camera(param: ContinuousParam, pose: Pose) -> Camera:
    """A camera framing `param`'s region (its side's half for left/right sliders) after `pose`."""
    width, (dx, dy, dz) = _FRAMES[param.region]
    side = param.name.split("/", 1)[1][:2]
    dx = {"l-": dx, "r-": -dx}.get(side, 0.0)  # the subject's left is +X
    centre = pose.matrix() @ np.append(EYE_MIDPOINT + np.array([dx, dy, dz]), 1.0)
    distance = width / 2 / np.tan(np.radians(_FOV) / 2)
    x, y, z = (float(c) for c in centre[:3])
    return Camera(fov=_FOV, position=(x, y, z + distance), target=(x, y, z))


def slider_icon(param: ContinuousParam, renderer: Renderer, head: HeadModel) -> np.ndarray:
    """(ICON_SIZE, 2 * ICON_SIZE, 3) uint8 RGB: the neutral head with `param` at its minimum (left) and
    maximum (right). `renderer` must be 2 * ICON_SIZE pixels; `head` built with its `vertex_ids`."""
    import cv2  # here: the studio reads ICON_VERSION at start-up, before it needs OpenCV

    if renderer.size != 2 * ICON_SIZE:
        raise ValueError(f"slider icons need a {2 * ICON_SIZE}-pixel renderer, got {renderer.size}")
    pose = Pose(yaw=90.0) if _uses_profile(param) else Pose()
    camera = _camera(param, pose)
    halves = []
    for value in (param.minimum, param.maximum):
        recipe = Recipe(modifiers={**default_modifiers(), param.name: value})
        rendering = renderer.render(head.vertices(recipe.modifiers), camera, pose=pose,
                                    appearance=appearance_of(recipe))
        image = np.where(rendering.labels[:, :, None] > 0, rendering.image, np.uint8(235))
        halves.append(cv2.resize(image, (ICON_SIZE, ICON_SIZE), interpolation=cv2.INTER_AREA))
    return np.hstack(halves)
