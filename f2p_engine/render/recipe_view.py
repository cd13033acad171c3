"""Recipe -> picture of its head: what `f2p render` writes and what the likeness evaluation compares.

The head of a `Recipe` (its modifiers, skin, eye colour, hair, eyebrows, eyelashes and beard) under
the default lighting, seen by `scene.view_camera()` from one of the named views, on a plain grey
background.
"""

from __future__ import annotations

import numpy as np

from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.recipe import Recipe
from f2p_engine.render.renderer import Renderer
from f2p_engine.render.scene import VIEW_YAW, Pose, View, appearance_of, view_camera

#: sRGB grey of every pixel the head does not cover.
BACKGROUND = 150


def render_recipe(recipe: Recipe, renderer: Renderer, view: View = "front", head: HeadModel | None = None
                  ) -> np.ndarray:
    """(S, S, 3) uint8 RGB picture of `recipe`'s head at the renderer's size S.

    `head`: a `HeadModel` to evaluate the mesh with; pass one built with
    `vertex_ids=renderer.vertex_ids` when rendering many recipes (building it takes ~0.2 s).
    """
    return render_recipe_face(recipe, renderer, view, head)[0]


def render_recipe_face(recipe: Recipe, renderer: Renderer, view: View = "front", head: HeadModel | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """`render_recipe`'s picture and the (68, 2) float32 pixel positions of its mesh landmarks (dlib order)."""
    head = head or HeadModel(vertex_ids=renderer.vertex_ids)
    background = np.full((renderer.size, renderer.size, 3), BACKGROUND, np.uint8)  # hair fringes blend over it
    rendering = renderer.render(head.vertices(recipe.modifiers), view_camera(), pose=Pose(yaw=VIEW_YAW[view]),
                                appearance=appearance_of(recipe), background=background)
    return rendering.image, rendering.landmarks
