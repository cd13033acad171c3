"""Renderer: images, region labels and mesh landmarks agree with each other and with the mesh."""

import numpy as np
import pytest

from f2p_engine.headmodel import schema
from f2p_engine.headmodel.mesh import head_mesh
from f2p_engine.render.landmarks import DLIB_MIRROR, MESH_LANDMARKS
from f2p_engine.render.regions import BACKGROUND, HEAD, LABELS, region_map
from f2p_engine.render.renderer import Renderer, head_shift, project
from f2p_engine.render.scene import Appearance, Pose, face_camera, view_camera

SIZE = 128


@pytest.fixture(scope="module")
def renderer():
    r = Renderer(SIZE)
    yield r
    r.release()


@pytest.fixture(scope="module")
def neutral(head_model):
    return head_model.vertices({})


def _label(name):
    return LABELS.index(name)


def test_render_is_not_blank_and_changes_with_parameters(renderer, head_model, neutral):
    base = renderer.render(neutral, face_camera())
    covered = base.labels > 0
    assert 0.3 < covered.mean() < 0.95
    assert base.image[covered].std() > 5  # shaded, not a flat silhouette
    assert (base.image[~covered] == 0).all()
    wider = renderer.render(head_model.vertices({"nose/nose-scale-horiz-decr|incr": 1.0}), face_camera())
    nose = (base.labels == _label("nose")) | (wider.labels == _label("nose"))
    assert (wider.labels == _label("nose")).sum() > 1.1 * (base.labels == _label("nose")).sum()
    assert np.abs(wider.image[nose].astype(int) - base.image[nose]).mean() > 3


def test_skin_and_eye_options_are_distinct(head_model, neutral):
    renderer = Renderer(256)  # irises are a few pixels wide: look at them at full size
    try:
        def mean_colour(appearance, label):
            out = renderer.render(neutral, face_camera(), appearance=appearance)
            return out.image[out.labels == _label(label)].mean(axis=0)

        skins = [mean_colour(Appearance(skin=s), "cheeks") for s in schema.SKINS]
        eyes = [mean_colour(Appearance(eye_colour=c), "eyes") for c in schema.EYE_COLOURS]
    finally:
        renderer.release()
    for colours, least in ((skins, 8.0), (eyes, 2.0)):
        gaps = [np.abs(a - b).max() for i, a in enumerate(colours) for b in colours[i + 1:]]
        assert min(gaps) > least


def test_label_pixels_match_projected_mesh(renderer, neutral):
    """GL rasterisation and numpy projection of the same vertices cover the same pixel box."""
    pose, camera = Pose(yaw=20, pitch=-5, roll=8), face_camera(width=4.0)
    out = renderer.render(neutral, camera, pose=pose)
    mesh = head_mesh()
    points = project(neutral[mesh.vertex_ids] + head_shift(neutral), pose.matrix(), camera.view_projection(), SIZE)
    rows, cols = np.nonzero(out.labels)
    extent = np.clip([*points.min(axis=0), *points.max(axis=0)], 0, SIZE - 1)  # the shoulders leave the frame
    np.testing.assert_allclose([cols.min(), rows.min(), cols.max(), rows.max()], extent, atol=1.5)


def test_regions_sit_where_the_landmarks_say(renderer, neutral):
    out = renderer.render(neutral, face_camera())
    marks = out.landmarks

    def centre(name):
        rows, cols = np.nonzero(out.labels == _label(name))
        return np.array([cols.mean(), rows.mean()])

    eye_y = marks[36:48, 1].mean()
    assert np.linalg.norm(centre("nose") - marks[27:36].mean(axis=0)) < 0.06 * SIZE
    assert np.linalg.norm(centre("mouth") - marks[48:68].mean(axis=0)) < 0.06 * SIZE
    assert abs(centre("eyes")[1] - eye_y) < 0.03 * SIZE
    assert centre("forehead")[1] < centre("eyebrows")[1] < eye_y < centre("nose")[1] < centre("mouth")[1]
    assert centre("mouth")[1] < centre("chin")[1]
    for name in ("nose", "mouth", "chin", "forehead"):
        assert abs(centre(name)[0] - SIZE / 2) < 0.04 * SIZE  # on the midline
    cheeks = np.argwhere(out.labels == _label("cheeks"))[:, 1]
    assert cheeks.min() < marks[31, 0]
    assert cheeks.max() > marks[35, 0]


def test_every_region_is_used_and_eyeballs_are_eyes():
    labels = region_map().triangle_labels
    assert set(np.unique(labels)) == set(range(1, len(LABELS))) - {_label("hair")}  # hair: the proxies' own
    assert (labels[head_mesh().part > 0] == _label("eyes")).all()
    assert BACKGROUND not in labels
    assert HEAD in labels


def test_landmarks_fall_on_their_features(renderer, neutral):
    out = renderer.render(neutral, face_camera())
    pixels = np.round(out.landmarks).astype(int)
    on = out.labels[pixels[:, 1], pixels[:, 0]]
    assert (on[17:] != BACKGROUND).all()
    # Jaw points follow the face outline: on the head or within 2 px of it.
    head = np.argwhere(out.labels > 0)[:, ::-1]
    assert max(np.abs(head - p).max(axis=1).min() for p in pixels[:17]) <= 2
    assert (on[36:48] == _label("eyes")).all()
    assert np.isin(on[27:36], [_label("nose")]).mean() > 0.8
    assert np.isin(on[48:68], [_label("mouth")]).mean() > 0.8


def test_landmarks_are_mirror_symmetric(asset):
    marks = np.asarray(MESH_LANDMARKS)
    assert (asset.mirror[marks] == marks[list(DLIB_MIRROR)]).all()
    x = asset.base_coords[marks, 0]
    assert (x[36:42] < 0).all()
    assert (x[42:48] > 0).all()


def test_pose_turns_the_head_the_documented_way(renderer, neutral):
    nose_x = {}
    for yaw in (-20, 20):
        out = renderer.render(neutral, view_camera(), pose=Pose(yaw=yaw))
        nose_x[yaw] = out.landmarks[30, 0] - out.landmarks[36:48, 0].mean()
    assert nose_x[20] > 1 > -1 > nose_x[-20]  # positive yaw: face turns to image right
    tilted = renderer.render(neutral, view_camera(), pose=Pose(roll=15)).landmarks
    right_eye, left_eye = tilted[36:42].mean(axis=0), tilted[42:48].mean(axis=0)
    assert left_eye[1] > right_eye[1] + 1  # clockwise roll: image-right eye goes down


def test_recentring_puts_different_bodies_in_the_same_frame(renderer, head_model):
    short = head_model.vertices({"macrodetails/Gender": 0.0, "macrodetails/Age": 0.5})
    tall = head_model.vertices({"macrodetails/Gender": 1.0, "macrodetails/Age": 0.5})
    assert abs(short[:, 1].max() - tall[:, 1].max()) > 0.5
    eyes = [renderer.render(v, face_camera()).landmarks[36:48].mean(axis=0) for v in (short, tall)]
    np.testing.assert_allclose(eyes[0], eyes[1], atol=3)


def test_frame_renders_what_warping_the_plain_render_shows(renderer, neutral):
    import cv2

    from f2p_engine.face.align import alignment_transform, transform_points

    camera, pose = face_camera(width=3.0), Pose(yaw=10, roll=12)
    plain = renderer.render(neutral, camera, pose=pose)
    matrix = alignment_transform(renderer.landmarks(neutral, camera, pose), SIZE)
    framed = renderer.render(neutral, camera, pose=pose, frame=matrix)
    np.testing.assert_allclose(plain.landmarks, renderer.landmarks(neutral, camera, pose), atol=1e-3)
    np.testing.assert_allclose(framed.landmarks, transform_points(matrix, plain.landmarks), atol=1e-3)
    warped = cv2.warpAffine(plain.labels, matrix, (SIZE, SIZE), flags=cv2.INTER_NEAREST)
    inside = cv2.warpAffine(np.ones_like(plain.labels), matrix, (SIZE, SIZE), flags=cv2.INTER_NEAREST) > 0
    assert (framed.labels[inside] == warped[inside]).mean() > 0.93  # the warp magnifies: edges differ


def test_rendered_vertex_subset_gives_the_same_picture(renderer, head_model):
    from f2p_engine.headmodel.mesh import HeadModel

    modifiers = {"nose/nose-scale-horiz-decr|incr": 0.7, "macrodetails/Gender": 0.2}
    expression = {"jawOpen": 0.3, "mouthSmileLeft": 0.4}
    full = head_model.apply_expression(head_model.vertices(modifiers), expression)
    subset_model = HeadModel(head_model.asset, vertex_ids=renderer.vertex_ids)
    subset = subset_model.apply_expression(subset_model.vertices(modifiers), expression)
    np.testing.assert_allclose(subset, full[renderer.vertex_ids], atol=1e-5)
    a, b = (renderer.render(v, face_camera(), pose=Pose(yaw=15)) for v in (full, subset))
    assert (np.abs(a.image.astype(int) - b.image) <= 1).mean() > 0.999
    assert (a.labels == b.labels).mean() > 0.999
    with pytest.raises(ValueError, match="vertices"):
        renderer.render(full[:100], face_camera())


def test_a_recipes_eyebrow_style_sets_how_its_brows_are_drawn(renderer):
    """`appearance_of` reads skin, eye colour, eyebrow style and hair colour; the styles are MakeHuman's
    eyebrow proxies: eyebrow009 (broad) covers more skin with hair than eyebrow001 (a thin arch)."""
    from f2p_engine.recipe import Recipe
    from f2p_engine.render.palette import HAIR_ALBEDO
    from f2p_engine.render.recipe_view import render_recipe
    from f2p_engine.render.scene import appearance_of

    recipe = Recipe().with_choice("skin", "young_asian_male").with_choice("eye_colour", "green")
    look = appearance_of(recipe.with_choice("eyebrows", "eyebrow009").with_choice("hair_colour", "red"))
    assert (look.skin, look.eye_colour, look.eyebrows, look.hair_colour) == ("young_asian_male", "green",
                                                                             "eyebrow009", HAIR_ALBEDO["red"])
    thin, thick = (render_recipe(recipe.with_choice("eyebrows", s), renderer).astype(int)
                   for s in ("eyebrow001", "eyebrow009"))
    changed = np.abs(thick - thin).sum(axis=2) > 10
    assert np.count_nonzero(changed) > 20  # only the brows differ...
    rows = np.nonzero(changed.any(axis=1))[0]
    assert rows.max() - rows.min() < SIZE // 8
    assert thick[changed].mean() < thin[changed].mean() - 20  # ...and the broad ones cover more skin with hair


def test_make_up_colours_lips_lids_and_cheeks_and_leaves_the_labels(renderer, neutral):
    plain = renderer.render(neutral, face_camera())
    made_up = renderer.render(neutral, face_camera(), appearance=Appearance(
        lipstick=(0.45, 0.03, 0.06, 0.8), eye_shadow=(0.1, 0.12, 0.4, 0.8), blush=(0.8, 0.3, 0.3, 0.4), eyeliner=0.9))
    assert (made_up.labels == plain.labels).all()
    changed = np.abs(made_up.image.astype(int) - plain.image).sum(axis=2) > 12
    for region in ("mouth", "eyes", "cheeks"):
        assert changed[plain.labels == _label(region)].mean() > 0.05, region
    assert changed[plain.labels == _label("nose")].mean() < 0.05  # patches, not a tint of the whole face


def test_glasses_sit_in_front_of_the_eyes_and_tinted_lenses_darken_them(renderer, neutral):
    from f2p_engine.render.scene import Glasses

    plain = renderer.render(neutral, face_camera())
    clear, dark = (renderer.render(neutral, face_camera(), appearance=Appearance(glasses=Glasses(shape=1, lens=lens)))
                   for lens in ((0.8, 0.85, 0.9, 0.1), (0.03, 0.03, 0.03, 0.8)))
    eyes = plain.labels == _label("eyes")
    frame = np.abs(clear.image.astype(int) - plain.image).sum(axis=2) > 60
    rows = np.nonzero(frame.any(axis=1))[0]
    eye_rows = plain.landmarks[36:48, 1]  # the eyelids' outlines
    assert rows.min() < eye_rows.min() < eye_rows.max() < rows.max()  # rims around the eyes
    assert dark.image[eyes].mean() < 0.6 * clear.image[eyes].mean()  # sunglasses hide the eyes
