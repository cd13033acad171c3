"""Slider icons: the neutral head at a slider's two ends, framed on its region, from the engine's renderer."""

import numpy as np
import pytest

from f2p_engine.headmodel import schema
from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.render.renderer import Renderer
from f2p_engine.render.slider_icons import ICON_SIZE, slider_icon


@pytest.fixture(scope="module")
def renderer():
    renderer = Renderer(size=2 * ICON_SIZE)
    yield renderer
    renderer.release()


@pytest.fixture(scope="module")
def head(renderer):
    return HeadModel(vertex_ids=renderer.vertex_ids)


@pytest.mark.parametrize("name", ["nose/nose-scale-horiz-decr|incr", "chin/chin-prognathism-decr|incr",
                                  "eyes/l-eye-scale-decr|incr", "macrodetails/Gender"])
def test_icon_shows_the_slider_at_both_ends(renderer, head, name):
    icon = slider_icon(schema.continuous_by_name()[name], renderer, head)
    assert icon.shape == (ICON_SIZE, 2 * ICON_SIZE, 3)
    before, after = icon[:, :ICON_SIZE].astype(int), icon[:, ICON_SIZE:].astype(int)
    assert (np.abs(before - 235).sum(axis=2) > 30).mean() > 0.3  # mostly head, not background
    assert np.abs(before - after).sum(axis=2).mean() > 3  # the two ends differ where the slider acts


def test_left_and_right_sliders_frame_their_own_side(renderer, head):
    left = slider_icon(schema.continuous_by_name()["eyes/l-eye-scale-decr|incr"], renderer, head)
    right = slider_icon(schema.continuous_by_name()["eyes/r-eye-scale-decr|incr"], renderer, head)
    # Near mirror images of each other (the head is symmetric, the light is not), not the same picture.
    a, b = left[:, :ICON_SIZE].mean(axis=2).ravel(), right[:, :ICON_SIZE].mean(axis=2)
    assert np.corrcoef(a, b[:, ::-1].ravel())[0, 1] > np.corrcoef(a, b.ravel())[0, 1] + 0.1
