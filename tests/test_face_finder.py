"""The MediaPipe face finder on real pictures: turned photos, turned heads, tiny faces, tampered models."""

import shutil

import cv2
import numpy as np
import pytest
from face_samples import astronaut, dlib_eye_centres

from f2p_engine.errors import AssetError, InputError
from f2p_engine.face.align import eye_centres, eye_targets
from f2p_engine.face.aligned import align_photo
from f2p_engine.face.detect import detect_faces
from f2p_engine.face.facedetect import anchor_centres
from f2p_engine.face.facemodels import face_models_dir
from f2p_engine.face.image import RGBImage
from f2p_engine.render.renderer import Renderer
from f2p_engine.render.scene import Pose, view_camera

#: Mesh points: nose tip, and the ear-side ends of the face outline (subject's right, left).
NOSE_TIP, RIGHT_CHEEK_EDGE, LEFT_CHEEK_EDGE = 4, 234, 454


def _image(pixels, source="test"):
    return RGBImage(pixels=np.ascontiguousarray(pixels), source=source)


def test_astronaut_has_one_face_with_mesh_and_landmarks():
    faces = detect_faces(_image(astronaut()))
    assert len(faces) == 1
    face = faces[0]
    assert face.mesh.shape == (468, 3)
    assert face.mesh.dtype == np.float64
    assert face.landmarks.shape == (68, 2)
    assert 0.5 < face.score <= 1.0
    # Depth is relative and smaller is nearer: the nose tip is in front of the face's outline.
    assert face.mesh[NOSE_TIP, 2] < min(face.mesh[RIGHT_CHEEK_EDGE, 2], face.mesh[LEFT_CHEEK_EDGE, 2]) - 10
    # The subject's right eye is on the image left, as in dlib's convention.
    right, left = eye_centres(face.landmarks)
    assert right[0] < left[0]


def _turned_back(points, turns, shape):
    """Points found in np.rot90(image, turns) -> the unturned image's pixel coordinates."""
    height, width = shape[:2]
    points = np.asarray(points, dtype=np.float64)
    for _ in range(turns):
        # One np.rot90 turn sends pixel (x, y) of a width-W picture to (y, W - 1 - x): undo one turn at a
        # time, W being the width of the picture one turn less (the turned picture's height).
        width, height = height, width
        points = np.stack([width - 1 - points[:, 1], points[:, 0]], axis=1)
    return points


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_turned_photo_is_found_and_its_landmarks_map_back(turns):
    upright = detect_faces(_image(astronaut()))[0]
    turned = np.rot90(astronaut(), turns)
    faces = detect_faces(_image(turned))
    assert len(faces) == 1
    back = _turned_back(faces[0].landmarks, turns, turned.shape)
    np.testing.assert_allclose(eye_centres(back), eye_centres(upright.landmarks), atol=2.0)
    assert np.median(np.linalg.norm(back - upright.landmarks, axis=1)) < 2.0


@pytest.mark.parametrize("yaw", [-40, 40])
def test_head_turned_40_degrees_is_found(yaw):
    from f2p_engine.headmodel.asset import default_asset
    from f2p_engine.headmodel.mesh import HeadModel

    renderer = Renderer(256)
    try:
        out = renderer.render(HeadModel(default_asset()).vertices({}), view_camera(), pose=Pose(yaw=yaw))
    finally:
        renderer.release()
    faces = detect_faces(_image(out.image))
    assert len(faces) == 1
    # The renderer's own mesh landmarks are the truth: eyes and nose land within a few pixels.
    truth = out.landmarks
    assert np.abs(faces[0].landmarks[36:48].mean(axis=0) - truth[36:48].mean(axis=0)).max() < 4.0
    assert np.linalg.norm(faces[0].landmarks[30] - truth[30]) < 8.0


def test_rendered_mesh_points_are_where_the_finder_puts_its_mesh():
    from f2p_engine.headmodel.asset import default_asset
    from f2p_engine.headmodel.mesh import HeadModel

    renderer = Renderer(256)
    try:
        out = renderer.render(HeadModel(default_asset()).vertices({}), view_camera(), pose=Pose(yaw=10))
    finally:
        renderer.release()
    assert out.mesh_points.shape == (468, 2)
    found = detect_faces(_image(out.image))[0].mesh[:, :2]
    error = np.linalg.norm(found - out.mesh_points, axis=1)
    # The vertices were picked on head-on renders; a 10 degree turn keeps them within a few pixels.
    assert np.median(error) < 3.0
    assert np.percentile(error, 90) < 7.0


def test_aligned_eyes_within_2px_of_targets_by_independent_dlib():
    face = align_photo(_image(astronaut()), size=256)
    assert np.abs(dlib_eye_centres(face.image) - eye_targets(256)).max() < 2.0


def test_face_under_40px_is_too_small_not_missing():
    small = cv2.resize(astronaut(), None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)  # face ~29 px
    with pytest.raises(InputError, match=r"^thumb.png: face too small \(\d+ px across; at least 40 px needed\)$"):
        align_photo(_image(small, "thumb.png"))


@pytest.fixture
def face_copy(tmp_path, monkeypatch):
    """A copy of the shipped face models that the engine loads instead (via F2P_RESOURCES)."""
    shutil.copytree(face_models_dir(), tmp_path / "face")
    monkeypatch.setenv("F2P_RESOURCES", str(tmp_path))
    return tmp_path / "face"


def test_tampered_model_is_refused_naming_the_file(face_copy):
    model = face_copy / "face_landmark.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    with pytest.raises(AssetError, match=r"face_landmark\.onnx: sha256 does not match") as caught:
        detect_faces(_image(astronaut()))
    assert "\n" not in str(caught.value)


def test_missing_model_is_refused_naming_the_file(face_copy):
    (face_copy / "face_detection_full_range.onnx").unlink()
    with pytest.raises(AssetError, match=r"face_detection_full_range\.onnx: face model file missing"):
        detect_faces(_image(astronaut()))


@pytest.mark.parametrize(("side", "layers", "count"), [(128, ((8, 2), (16, 6)), 896), (192, ((4, 1),), 2304)])
def test_anchor_layout_matches_the_models_outputs(side, layers, count):
    anchors = anchor_centres(side, layers)
    assert anchors.shape == (count, 2)
    # First anchors: the finest grid's top-left cell, repeated per anchor of the cell.
    stride, per_cell = layers[0]
    np.testing.assert_array_equal(anchors[:per_cell], [[stride / 2, stride / 2]] * per_cell)
    assert anchors.min() > 0
    assert anchors.max() < side
