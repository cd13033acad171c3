"""MakeHuman's system proxies: the compiled asset, fitting to a modified head, drawing hair."""

import json
import shutil

import numpy as np
import pytest

from f2p_engine.errors import AssetError
from f2p_engine.files import resources_dir
from f2p_engine.headmodel import schema
from f2p_engine.headmodel.mesh import default_modifiers
from f2p_engine.headmodel.proxies import default_proxies, load_proxies
from f2p_engine.render.regions import HAIR_LABEL
from f2p_engine.render.renderer import Renderer
from f2p_engine.render.scene import Appearance, Pose, view_camera

# short02.mhclo (makehuman-assets 8cf9645b): its scale lines and its first fitting row, copied by hand.
SHORT02_SCALES = {"x": (5399, 11998, 1.4340), "y": (791, 881, 2.4098), "z": (962, 5320, 2.0001)}
SHORT02_ROW0 = ((7442, 11810, 11811), (0.13600, 0.19185, 0.67215), (0.02125, 0.00432, 0.00274))


@pytest.fixture(scope="module")
def proxies():
    return default_proxies()


def test_the_asset_holds_makehumans_system_proxies_with_their_mhm_names_and_uuids(proxies):
    for kind, table in (("hair", schema.HAIR), ("eyelashes", schema.EYELASHES)):
        assert {p.key: (p.name, p.uuid) for p in proxies.of_kind(kind)} == table
    assert {p.name: p.uuid for p in proxies.of_kind("eyebrows")} == schema.EYEBROWS
    manifest = json.loads((resources_dir() / "proxies" / "manifest.json").read_text())
    assert manifest["source"]["commit"].startswith("8cf9645b")
    assert len(manifest["source"]["files"]) == 2 * len(proxies.proxies)  # .obj and .mhclo of each
    assert (resources_dir() / "proxies" / "proxies.npz").stat().st_size < 5_000_000


def test_a_hair_vertex_is_fitted_as_makehuman_fits_it(proxies, head_model):
    """Vertex 0 of short02 on a modified head, computed by hand from the .mhclo numbers."""
    vertices = head_model.vertices({**default_modifiers(), "macrodetails/Gender": 1.0, "macrodetails/Age": 0.9,
                                    "head/head-fat-decr|incr": 0.8}).astype(np.float64)
    refs, weights, offset = SHORT02_ROW0
    expected = []
    for axis, (first, second, rest_length) in enumerate(SHORT02_SCALES.values()):
        scale = abs(vertices[first][axis] - vertices[second][axis]) / rest_length
        expected.append(sum(w * vertices[r][axis] for r, w in zip(refs, weights, strict=True)) + offset[axis] * scale)
    fitted = proxies.get("hair", "short02").fit(vertices)
    np.testing.assert_allclose(fitted[0], expected, atol=2e-5)


def test_hair_follows_a_modifier_and_a_single_index_row_is_that_vertex(proxies, head_model):
    neutral = head_model.vertices(default_modifiers())
    bigger = head_model.vertices({**default_modifiers(), "macrodetails/Gender": 1.0, "macrodetails/Age": 1.0})
    hair = proxies.get("hair", "short02")
    moved = np.linalg.norm(hair.fit(bigger) - hair.fit(neutral), axis=1)
    scalp = np.unique(hair.refs)
    scalp_moved = np.linalg.norm(bigger[scalp] - neutral[scalp], axis=1)
    assert moved.min() > 0.05  # 5 mm: every hair vertex moves with the older man's head...
    assert abs(np.median(moved) - np.median(scalp_moved)) < 0.2 * np.median(scalp_moved)  # ...as its scalp does
    lashes = proxies.get("eyelashes", "eyelashes01")
    single = np.flatnonzero(lashes.weights[:, 0] == 1.0)
    assert len(single) > 100  # eyelashes01 rides on the eyelash helper vertices themselves
    np.testing.assert_allclose(lashes.fit(bigger)[single], bigger[lashes.refs[single, 0]], atol=1e-6)


def test_fitting_from_a_subset_of_vertices_matches_the_whole_mesh(proxies, head_model):
    vertices = head_model.vertices({**default_modifiers(), "macrodetails/Gender": 0.1})
    ids = proxies.reference_vertices()
    index_of = np.full(len(vertices), -1)
    index_of[ids] = np.arange(len(ids))
    for proxy in proxies.proxies:
        np.testing.assert_allclose(proxy.fit(vertices[ids], index_of), proxy.fit(vertices), atol=1e-6)


def test_a_tampered_proxy_asset_is_refused(tmp_path):
    for name in ("proxies.npz", "manifest.json"):
        shutil.copy(resources_dir() / "proxies" / name, tmp_path / name)
    with open(tmp_path / "proxies.npz", "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\0\1\2\3")
    with pytest.raises(AssetError, match="sha256"):
        load_proxies(tmp_path / "proxies.npz")


@pytest.fixture(scope="module")
def renderer():
    r = Renderer(128)
    yield r
    r.release()


def test_hair_is_drawn_on_the_head_over_the_background_and_labelled(renderer, head_model):
    vertices = head_model.vertices(default_modifiers())
    background = np.zeros((128, 128, 3), np.uint8)
    background[:, :, 2] = 255  # pure blue: blended hair shows as a mix
    bald = renderer.render(vertices, view_camera(), appearance=Appearance(), background=background)
    assert (bald.image[bald.labels == 0] == [0, 0, 255]).all()
    haired = renderer.render(vertices, view_camera(), appearance=Appearance(hair="long01"), background=background)
    hair = haired.labels == HAIR_LABEL
    assert 0.05 < hair.mean() < 0.4
    rows = np.nonzero(hair.any(axis=1))[0]
    head_rows = np.nonzero((bald.labels > 0).any(axis=1))[0]
    assert rows.min() <= head_rows.min() + 2  # on top of the head, not floating above or below it
    assert rows.min() >= head_rows.min() - 128 // 16
    # The fringe blends over what is behind it: some background pixels turn partly hair-coloured.
    fringe = (haired.labels == 0) & (haired.image[:, :, 2] < 250)
    assert fringe.sum() > 5


def test_hair_turns_with_the_head(renderer, head_model):
    vertices = head_model.vertices(default_modifiers())
    look = Appearance(hair="ponytail01")
    front, side = (renderer.render(vertices, view_camera(), pose=Pose(yaw=yaw), appearance=look)
                   for yaw in (0.0, 90.0))
    # Seen from the side the ponytail sticks out behind the head: hair reaches further sideways.
    columns = [np.nonzero((r.labels == HAIR_LABEL).any(axis=0))[0] for r in (front, side)]
    assert np.ptp(columns[1]) > np.ptp(columns[0])
