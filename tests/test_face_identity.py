"""Identity descriptor (dlib ResNet) and the cosine-distance likeness measure."""

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
    """The dlib thread does not survive a fork: the child must start its own, not wait on the parent's."""
    image = data.astronaut()
    landmarks = np.array([[200 + 3 * (k % 17), 120 + 2 * k] for k in range(68)], float)
    parent = face_descriptor(image, landmarks)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(face_descriptor, (image, landmarks)).get(timeout=60)
    np.testing.assert_allclose(child, parent, atol=1e-5)
