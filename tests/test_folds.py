"""Visible folds: found by looking at the head from the artist's views, removed from predictions.

tests/data/grace_hopper_predicted.mhm is what `f2p predict` made of the Grace Hopper dev photo (the
recipe only). With "Nose scale horiz" at -0.3 or lower her head shows holes beside the nostrils in
the 3D view, the overlay and `f2p render`; the default head at -1 is clean.
"""

from pathlib import Path

import numpy as np
import pytest

from f2p_engine.face.colour import ColourReading
from f2p_engine.face.reading import PhotoReading
from f2p_engine.headmodel import schema
from f2p_engine.headmodel.mesh import head_mesh
from f2p_engine.recipe import Recipe, continuous_vector, read_mhm
from f2p_engine.render.folds import FOLD_VIEWS, MIN_FOLD_PIXELS, FoldFinder, Folds
from f2p_engine.synth.sampler import sample_recipes

NOSE_WIDTH = "nose/nose-scale-horiz-decr|incr"
AFRICAN = "macrodetails/African"
GRACE = Path(__file__).parent / "data" / "grace_hopper_predicted.mhm"


@pytest.fixture(scope="module")
def finder():
    finder = FoldFinder()
    yield finder
    finder.release()


@pytest.fixture(scope="module")
def grace() -> Recipe:
    return read_mhm(GRACE).recipe


def test_grace_hopper_narrow_nose_folds_and_her_prediction_does_not(finder, grace):
    assert not finder.folds(grace)
    folds = finder.folds(grace.with_values({NOSE_WIDTH: -0.3}))
    assert folds.pixels >= 5
    assert finder.folds(grace.with_values({NOSE_WIDTH: -1.0})).pixels > folds.pixels


def test_the_default_head_with_the_narrowest_nose_is_clean(finder):
    assert not finder.folds(Recipe().with_values({NOSE_WIDTH: -1.0}))


def _flipped_against_default(finder, recipe: Recipe) -> int:
    """Skin triangles whose normal points against the same triangle's on the default head."""
    mesh = head_mesh()
    skin = mesh.triangles[mesh.part == 0]

    def normals(modifiers):
        v = finder.head.vertices(modifiers).astype(np.float64)
        return np.cross(v[skin[:, 1]] - v[skin[:, 0]], v[skin[:, 2]] - v[skin[:, 0]])

    return int(((normals(recipe.modifiers) * normals(Recipe().modifiers)).sum(axis=1) < 0).sum())


def test_normals_turned_inside_nostrils_and_eyelids_are_no_visible_fold(finder):
    """Prior recipes turn a dozen or more triangles against the default head without a hole to see."""
    for recipe in sample_recipes(40, seed=3):
        if _flipped_against_default(finder, recipe) >= 12 and not finder.folds(recipe):
            return
    pytest.fail("no fold-free prior recipe with 12 or more turned triangles among 40")


def test_fold_free_moves_the_prediction_the_least_way_out_of_the_fold(finder, grace):
    folded = grace.with_values({NOSE_WIDTH: -0.3})
    unfolded = finder.fold_free(folded)
    assert unfolded.folds_before >= 5
    assert unfolded.moved
    assert not finder.folds(unfolded.recipe)
    before, after = continuous_vector(folded), continuous_vector(unfolded.recipe)
    reference = continuous_vector(Recipe())
    names = [p.name for p in schema.CONTINUOUS]
    moved = [names.index(n) for n in unfolded.moved]
    untouched = np.setdiff1d(np.arange(len(names)), moved)
    np.testing.assert_array_equal(after[untouched], before[untouched])
    # Each moved slider went part of the way toward its default, not past it and not all the way.
    share = (after[moved] - before[moved]) / (reference[moved] - before[moved])
    assert np.all((share > 0) & (share <= 1 + 1e-5))
    assert share.min() < 1


def test_a_clean_recipe_is_left_alone(finder, grace):
    unfolded = finder.fold_free(grace)
    assert unfolded.recipe == grace
    assert unfolded.moved == ()


@pytest.fixture(scope="module")
def predictor():
    from f2p_engine.infer.pipeline import Predictor

    return Predictor.load()  # its fold check runs on the engine's fold thread, with a finder of its own


def _certain(recipe: Recipe) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(P,) unit values and certain probabilities: what an ensemble answering `recipe` gives `prediction`."""
    unit = np.array([p.normalise(recipe.value(p.name)) for p in schema.CONTINUOUS])
    probabilities = {g.name: np.eye(len(g.options))[g.options.index(recipe.choice(g.name))]
                     for g in schema.DISCRETE_GROUPS if g.predicted}
    return unit, probabilities


def test_predictions_come_out_without_visible_folds(finder, grace, predictor):
    """The ensemble's answer for Grace with a narrow nose folds; what predict returns does not."""
    folded = grace.with_values({NOSE_WIDTH: -0.3})
    prediction = predictor.prediction(*_certain(folded), {})
    assert finder.folds(folded)
    assert prediction.unfolded
    assert not finder.folds(prediction.recipe)
    assert "unfold" in prediction.timings


DARK_BROWN = ColourReading(tone="dark", typology_angle=20.0, skin=None, african=0.9, eye_colour="brown",
                           eye_light=False, reliable=True, notes=())


def test_measured_colours_are_on_the_recipe_before_its_one_fold_check(grace, predictor, monkeypatch):
    """A photo's recipe is checked for folds once, with the measured skin (which reshapes the head)
    already set; that gives what checking before and again after the colours gave when the first check
    found nothing to move."""
    from f2p_engine.infer import pipeline

    checked = []
    real = pipeline.without_folds
    monkeypatch.setattr(pipeline, "without_folds", lambda recipe: real(checked.append(recipe) or recipe))
    unit, probabilities = _certain(grace)
    once = predictor.prediction(unit, probabilities, {}, reading=PhotoReading(colours=DARK_BROWN))
    assert len(checked) == 1
    assert checked[0].value(AFRICAN) == pytest.approx(0.9)
    assert checked[0].choice("skin").endswith("african_female")
    assert once.colours is DARK_BROWN
    assert once.recipe.choice("eye_colour") == "brown"

    first = predictor.prediction(unit, probabilities, {})  # the earlier order: check, colour, check again
    assert not first.unfolded
    coloured, continuous, _ = pipeline.with_colours(first.recipe, first.continuous, first.probabilities, DARK_BROWN)
    twice, _ = real(coloured)
    assert twice == once.recipe
    np.testing.assert_array_equal(continuous, once.continuous)


def test_fold_free_keeps_the_slider_the_artist_set(finder, grace):
    """Grace's narrow nose stays narrow: the sliders bending the skin beside the nostrils give way."""
    folded = grace.with_values({NOSE_WIDTH: -0.3})
    unfolded = finder.fold_free(folded, keep=[NOSE_WIDTH])
    assert NOSE_WIDTH not in unfolded.moved
    assert unfolded.recipe.value(NOSE_WIDTH) == -0.3
    assert not finder.folds(unfolded.recipe)


def _every_view_folds(finder, recipe: Recipe) -> Folds:
    """The fold rule evaluated in full, as the check was first written: every view of the recipe's head
    and of its macro-only head rendered, the macro head's back faces excused, then the pixel count."""
    face = set(schema.face_modifiers())
    own_head = finder.head.vertices({n: v for n, v in recipe.modifiers.items() if n not in face})
    head = finder.head.vertices(recipe.modifiers)
    found, most = [], 0
    for view in range(len(FOLD_VIEWS)):
        own_ids = finder._shown(own_head, view)
        own = np.isin(np.arange(len(head_mesh().triangles)), -own_ids[own_ids < 0] - 1)
        ids = finder._shown(head, view)
        back = -ids[ids < 0] - 1
        back = back[(head_mesh().part[back] == 0) & ~own[back]]
        if len(back) >= MIN_FOLD_PIXELS:
            found.append(back)
            most = max(most, len(back))
    return Folds(triangles=np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64), pixels=most)


def test_the_check_renders_only_what_it_needs_and_answers_as_the_full_rule(finder, grace):
    """Views and macro heads are rendered lazily; the folds found (triangles and pixels) are those of the
    full rule on 200 prior recipes and on Grace's folding narrow noses."""
    recipes = [*sample_recipes(200, seed=11), *(grace.with_values({NOSE_WIDTH: w}) for w in (-0.3, -0.6, -1.0))]
    folded = 0
    for recipe in recipes:
        expected = _every_view_folds(finder, recipe)
        found = finder.folds(recipe)
        np.testing.assert_array_equal(found.triangles, expected.triangles)
        assert found.pixels == expected.pixels
        assert finder.has_folds(recipe) == bool(expected)
        folded += bool(expected)
    assert folded >= 10  # both answers are exercised


def _culprits_one_slider_at_a_time(finder, recipe: Recipe, folds: Folds, reference: Recipe) -> tuple[str, ...]:
    """`FoldFinder.culprits` as first written: each moved slider's target rows looked up one at a time."""
    from f2p_engine.headmodel.mesh import face_target_weights
    from f2p_engine.render.folds import CULPRIT_SHARE, NEIGHBOURHOOD_RINGS

    mesh, near = head_mesh(), folds.triangles
    for _ in range(NEIGHBOURHOOD_RINGS):
        near = np.flatnonzero(np.isin(mesh.triangles, mesh.triangles[near]).any(axis=1) & (mesh.part == 0))
    corners = mesh.triangles[near].ravel()
    hm08 = mesh.vertex_ids[corners]
    positions = finder.head.vertices(recipe.modifiers)[corners].astype(np.float64)

    def normals(corners):
        n = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)

    turned = {}
    for name in schema.face_modifiers():
        value, old = recipe.value(name), reference.value(name)
        if value == old:
            continue
        now, then = face_target_weights([(name, value)]), face_target_weights([(name, old)])
        back = positions.copy()
        for target in now.keys() | then.keys():
            index, offsets = finder.asset.targets.rows(target)
            weight = now.get(target, 0.0) - then.get(target, 0.0)
            for row in np.flatnonzero(np.isin(hm08, index)):
                back[row] -= offsets[np.flatnonzero(index == hm08[row])[0]] * weight
        turned[name] = float(np.linalg.norm(normals(back.reshape(-1, 3, 3)) - normals(positions.reshape(-1, 3, 3)),
                                            axis=1).sum())
    most = max(turned.values(), default=0.0)
    blamed = (n for n, t in turned.items() if t > 0 and t >= CULPRIT_SHARE * most)
    return tuple(sorted(blamed, key=lambda n: -turned[n]))


def test_culprits_are_the_sliders_one_at_a_time_at_their_reference_finds(finder, grace):
    """All sliders' turning computed at once blames the sliders (and in the order) that undoing each
    slider alone does, toward the defaults and toward another recipe."""
    recipes = [grace.with_values({NOSE_WIDTH: w}) for w in (-0.3, -1.0)]
    recipes += [r for r in sample_recipes(30, seed=11) if finder.folds(r)][:4]
    assert len(recipes) == 6
    for recipe in recipes:
        folds = finder.folds(recipe)
        assert finder.culprits(recipe, folds)
        for reference in (Recipe(), grace):
            assert finder.culprits(recipe, folds, reference) == _culprits_one_slider_at_a_time(
                finder, recipe, folds, reference)


def test_the_astronaut_gets_the_recipe_of_checking_before_and_after_her_colours(finder, predictor):
    """The earlier order (predict and check, set the measured colours, check again) on a real photo: when
    its first check moved nothing, the one check gives the same recipe; when it did, the slider moves
    it made for the models' skin are not the ones the measured skin needs, and both are fold-free."""
    from skimage.data import astronaut

    from f2p_engine.face.image import RGBImage
    from f2p_engine.infer import pipeline

    prediction, face = pipeline.predict_photo(predictor, RGBImage(pixels=astronaut(), source="astronaut"))
    first = predictor.predict_aligned(face.image, face.landmarks,
                                      reading=PhotoReading(attributes=prediction.attributes, hair=prediction.hair))
    coloured, continuous, _ = pipeline.with_colours(first.recipe, first.continuous, first.probabilities,
                                                    prediction.colours)
    twice, _ = pipeline.without_folds(coloured)
    assert not finder.folds(prediction.recipe)
    if not first.unfolded:
        assert twice.modifiers.keys() == prediction.recipe.modifiers.keys()
        np.testing.assert_allclose([twice.modifiers[n] for n in twice.modifiers],
                                   [prediction.recipe.modifiers[n] for n in twice.modifiers], atol=1e-6)
        assert twice == prediction.recipe
        np.testing.assert_array_equal(continuous, prediction.continuous)
