"""dlib's face chip in numpy (`face.chips`), checked pixel for pixel against dlib's own `get_face_chip`."""

import numpy as np
import pytest
from face_samples import astronaut, two_faces

from f2p_engine.face.chips import face_chip
from f2p_engine.face.detect import detect_faces
from f2p_engine.face.image import RGBImage
from f2p_engine.recipe import Recipe
from f2p_engine.render.recipe_view import render_recipe_face
from f2p_engine.render.renderer import Renderer

dlib = pytest.importorskip("dlib")

#: (size, padding) of the chips the project cuts: the identity ResNet's, the age and gender nets'.
CHIPS = ((150, 0.25), (64, 0.2), (32, 0.2))


def _dlib_chip(pixels: np.ndarray, landmarks: np.ndarray, size: int, padding: float) -> np.ndarray:
    """dlib's chip of the face, its points rounded to whole pixels as dlib stores them."""
    box = dlib.rectangle(*(int(v) for v in (*landmarks.min(axis=0), *landmarks.max(axis=0))))
    face = dlib.full_object_detection(box, dlib.points([dlib.point(round(x), round(y)) for x, y in landmarks]))
    return np.asarray(dlib.get_face_chip(np.ascontiguousarray(pixels), face, size=size, padding=padding))


def _faces() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, pixels, landmarks): photo faces of several sizes (pyramid levels), a render, a cut-off face."""
    faces = [(f"photo {k}", pixels, detection.landmarks)
             for pixels in (astronaut(), two_faces())
             for k, detection in enumerate(detect_faces(RGBImage(pixels=np.ascontiguousarray(pixels), source="t")))]
    render, landmarks = render_recipe_face(Recipe(), Renderer(256))
    faces.append(("render", render, landmarks.astype(np.float64)))
    # The astronaut's face with its left third outside the picture: dlib fills it with black.
    _, pixels, landmarks = faces[0]
    cut = int(np.percentile(landmarks[:, 0], 30))
    faces.append(("cut off", pixels[:, cut:], landmarks - np.array([cut, 0])))
    return faces


@pytest.mark.parametrize(("size", "padding"), CHIPS)
def test_chip_equals_dlibs_pixel_for_pixel(size, padding):
    for name, pixels, landmarks in _faces():
        ours = face_chip(pixels, landmarks, size, padding)
        assert ours.shape == (size, size, 3), name
        assert ours.dtype == np.uint8, name
        difference = np.abs(ours.astype(int) - _dlib_chip(pixels, landmarks, size, padding))
        # Equal up to floating-point ties of the truncation to uint8.
        assert difference.max() <= 1, name
        assert (difference > 0).mean() < 1e-3, name


def test_a_face_outside_the_picture_gives_a_black_chip_and_bad_sizes_are_refused():
    landmarks = detect_faces(RGBImage(pixels=astronaut().copy(), source="a"))[0].landmarks
    assert not face_chip(astronaut(), landmarks + np.array([2000.0, 0.0]), 150, 0.25).any()
    with pytest.raises(ValueError, match="size"):
        face_chip(astronaut(), landmarks, 1, 0.25)
