"""Head pose from landmarks: renders with a known pose give that pose back."""

import numpy as np
import pytest

from f2p_engine.errors import InputError
from f2p_engine.face.pose import estimate_pose, pose_from_rotation, render_fitted
from f2p_engine.headmodel.mesh import HeadModel
from f2p_engine.recipe import Recipe
from f2p_engine.render.landmarks import MESH_LANDMARKS
from f2p_engine.render.renderer import Renderer
from f2p_engine.render.scene import Pose, face_camera

POSES = [Pose(), Pose(yaw=25.0), Pose(yaw=-35.0, pitch=8.0), Pose(pitch=-12.0, roll=10.0),
         Pose(yaw=15.0, pitch=10.0, roll=-6.0)]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(size=256)


@pytest.mark.parametrize("pose", POSES)
def test_pose_of_a_render_is_the_pose_it_was_rendered_at(renderer, pose):
    head = HeadModel()
    vertices = head.vertices(Recipe().with_values({"macrodetails/Gender": 0.8, "nose/nose-hump-decr|incr": 0.5})
                             .modifiers)
    camera = face_camera(fov=20.0)
    landmarks = renderer.landmarks(vertices, camera, pose)  # a different code path: the renderer's projection
    estimate = estimate_pose(landmarks, vertices[list(MESH_LANDMARKS)], 256, fov=20.0)
    assert estimate.pose.yaw == pytest.approx(pose.yaw, abs=1.5)
    assert estimate.pose.pitch == pytest.approx(pose.pitch, abs=1.5)
    assert estimate.pose.roll == pytest.approx(pose.roll, abs=1.5)
    assert estimate.error < 1.0


def test_rotation_round_trip():
    pose = Pose(yaw=-40.0, pitch=20.0, roll=-15.0)
    back = pose_from_rotation(pose.matrix()[:3, :3])
    assert (back.yaw, back.pitch, back.roll) == pytest.approx((pose.yaw, pose.pitch, pose.roll))


def test_non_finite_landmarks_are_refused():
    with pytest.raises(InputError):
        estimate_pose(np.full((68, 2), np.nan), np.zeros((68, 3)), 256)


def test_coinciding_landmarks_are_refused_not_given_a_confident_pose():
    model = np.random.default_rng(0).normal(size=(68, 3))
    with pytest.raises(InputError, match="do not constrain a pose"):
        estimate_pose(np.full((68, 2), 100.0), model, 256)


def test_fitted_render_lands_on_the_pictures_landmarks(renderer):
    head = HeadModel()
    vertices = head.vertices(Recipe().with_values({"chin/chin-width-decr|incr": 0.6}).modifiers)
    pose = Pose(yaw=20.0, pitch=-5.0, roll=4.0)
    # The "photo": the same head rendered turned, shifted and smaller than the fitted render's framing.
    shift = np.array([[0.8, 0.0, 20.0], [0.0, 0.8, 35.0]])
    photo = renderer.render(vertices, face_camera(fov=20.0), pose=pose, frame=shift)
    rendering, estimate = render_fitted(renderer, vertices, photo.landmarks)
    assert estimate.pose.yaw == pytest.approx(20.0, abs=2.0)
    inner = list(range(17, 68))
    distance = np.linalg.norm(rendering.landmarks[inner] - photo.landmarks[inner], axis=1)
    assert distance.mean() < 1.5  # pixels, at 256 px
    overlap = (rendering.labels > 0) & (photo.labels > 0)
    assert overlap.sum() > 0.9 * (photo.labels > 0).sum()
