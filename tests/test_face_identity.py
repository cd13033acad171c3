"""Identity descriptor (dlib's ResNet on onnxruntime) and the cosine-distance likeness measure."""

import multiprocessing

import cv2
import numpy as np
import pytest
from face_samples import astronaut, two_faces
from scipy.spatial.distance import cosine
from skimage import data

from f2p_engine.face.detect import detect_faces
from f2p_engine.face.identity import cosine_distance, face_descriptor
from f2p_engine.face.image import RGBImage
from f2p_engine.recipe import Recipe
from f2p_engine.render.recipe_view import render_recipe_face
from f2p_engine.render.renderer import Renderer


def _descriptor(pixels):
    image = RGBImage(pixels=np.ascontiguousarray(pixels), source="test")
    return face_descriptor(image.pixels, detect_faces(image)[0].landmarks)


def test_same_face_other_scale_and_mirror_is_close_other_content_is_far():
    original = _descriptor(astronaut())
    assert original.shape == (128,)
    assert original.dtype == np.float32  # as the dataset stores it
    resized = _descriptor(cv2.resize(astronaut(), (400, 400), interpolation=cv2.INTER_AREA))
    mirrored = _descriptor(astronaut()[:, ::-1])
    assert np.linalg.norm(original - resized) < 0.25  # dlib: same person below ~0.6
    assert cosine_distance(original, resized) < 0.05
    assert cosine_distance(original, mirrored) < 0.1
    # The same landmarks on a flat grey picture: the descriptor must depend on the pixels.
    image = RGBImage(pixels=astronaut().copy(), source="a")
    blank = RGBImage(pixels=np.full_like(astronaut(), 128), source="blank")
    face = detect_faces(image)[0]
    on_photo, on_blank = (face_descriptor(i.pixels, face.landmarks) for i in (image, blank))
    assert cosine_distance(on_photo, on_blank) > 0.1


def test_both_faces_of_the_composite_are_the_same_person():
    image = RGBImage(pixels=np.ascontiguousarray(two_faces()), source="two")
    big, small = (face_descriptor(image.pixels, face.landmarks) for face in detect_faces(image))
    assert np.linalg.norm(big - small) < 0.4


def test_cosine_distance_matches_scipy():
    rng = np.random.default_rng(3)
    for _ in range(5):
        a, b = rng.normal(size=128), rng.normal(size=128)
        assert cosine_distance(a, b) == pytest.approx(cosine(a, b), abs=1e-12)
    assert cosine_distance(a, 3 * a) == pytest.approx(0.0, abs=1e-12)
    assert cosine_distance(a, -a) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="zero vector"):
        cosine_distance(a, np.zeros(128))


def test_descriptor_works_in_a_forked_child_after_the_parent_used_it():
    """Batch workers may be forked after the parent loaded the network: the child's session must run."""
    image = data.astronaut()
    landmarks = np.array([[200 + 3 * (k % 17), 120 + 2 * k] for k in range(68)], float)
    parent = face_descriptor(image, landmarks)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(face_descriptor, (image, landmarks)).get(timeout=60)
    np.testing.assert_allclose(child, parent, atol=1e-5)


def _dlib_descriptor(pixels: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """dlib's own descriptor (its chip, its network, no jitter): the independent reference."""
    dlib = pytest.importorskip("dlib")
    import face_recognition_models

    box = dlib.rectangle(*(int(v) for v in (*landmarks.min(axis=0), *landmarks.max(axis=0))))
    face = dlib.full_object_detection(box, dlib.points([dlib.point(round(x), round(y)) for x, y in landmarks]))
    network = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
    return np.asarray(network.compute_face_descriptor(np.ascontiguousarray(pixels), face))


def test_descriptor_equals_dlibs_on_photos_and_renders():
    faces = [(pixels, detection.landmarks) for pixels in (astronaut(), two_faces())
             for detection in detect_faces(RGBImage(pixels=np.ascontiguousarray(pixels), source="t"))]
    renderer = Renderer(256)
    other = Recipe().with_values({"macrodetails/Gender": 0.8, "nose/nose-hump-decr|incr": 0.5,
                                  "chin/chin-width-decr|incr": 0.6})
    for recipe in (Recipe(), other):
        pixels, landmarks = render_recipe_face(recipe, renderer)
        faces.append((pixels, landmarks.astype(np.float64)))
    for pixels, landmarks in faces:
        ours, theirs = face_descriptor(pixels, landmarks), _dlib_descriptor(pixels, landmarks)
        assert 1 - cosine_distance(ours, theirs) >= 0.9999
        np.testing.assert_allclose(ours, theirs, atol=1e-4)
