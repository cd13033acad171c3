"""Detection, landmarks and alignment of real photos (astronaut, two faces, no face, huge, tiny)."""

import cv2
import numpy as np
import pytest
from face_samples import astronaut, dlib_eye_centres, no_face, two_faces

from f2p_engine.errors import InputError
from f2p_engine.face.align import LOCAL_REGIONS, Box, crop_box, eye_centres, eye_targets
from f2p_engine.face.aligned import align_photo, warp_face
from f2p_engine.face.detect import detect_faces
from f2p_engine.face.image import RGBImage
from f2p_engine.face.mesh68 import landmarks_68


def _image(pixels, source="test"):
    return RGBImage(pixels=np.ascontiguousarray(pixels), source=source)


def test_astronaut_aligned_eyes_on_targets_by_independent_dlib():
    face = align_photo(_image(astronaut()), size=256)
    assert face.faces_found == 1
    assert face.image.shape == (256, 256, 3)
    assert face.image.dtype == np.uint8
    # dlib run afresh on the aligned pixels, not our landmarks pushed through our transform.
    found = dlib_eye_centres(face.image)
    assert np.abs(found - eye_targets(256)).max() < 3.0


def test_landmarks_match_dlib_on_the_source():
    face = align_photo(_image(astronaut()))
    np.testing.assert_allclose(eye_centres(face.detection.landmarks), dlib_eye_centres(astronaut()), atol=1.5)
    box = face.detection.box
    assert 150 < box[0] < box[2] < 300  # the face, not the mission patch (x ~130-220, y ~335-425)
    assert 60 < box[1] < box[3] < 200


def test_crops_are_the_boxes_of_the_aligned_image():
    face = align_photo(_image(astronaut()), size=128)
    assert set(face.crops) == set(LOCAL_REGIONS)
    eyes = face.boxes["eyes"]
    np.testing.assert_array_equal(face.crops["eyes"], face.image[eyes.y0:eyes.y1, eyes.x0:eyes.x1])
    for region, crop in face.crops.items():
        box = face.boxes[region]
        assert crop.shape == (box.height, box.width, 3), region


def test_two_faces_takes_the_largest_and_counts_both():
    faces = detect_faces(_image(two_faces()))
    assert len(faces) == 2
    assert faces[0].area > 1.5 * faces[1].area
    assert faces[0].box[2] < 500 < faces[1].box[0]  # big face on the left half
    face = align_photo(_image(two_faces()))
    assert face.faces_found == 2
    assert np.all(face.detection.landmarks[:, 0] < 500)


def test_no_face_raises_naming_the_source():
    with pytest.raises(InputError, match=r"coffee.jpg: no face found in the 600x400 image"):
        align_photo(_image(no_face(), "coffee.jpg"))


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 2, 3)])
def test_tiny_images_have_no_face(shape):
    with pytest.raises(InputError, match="no face found"):
        align_photo(_image(np.full(shape, 128, np.uint8)))


def test_small_picture_is_enlarged_for_detection():
    # 256 px wide: the face is ~44 px, below the HOG window until the picture is enlarged.
    small = cv2.resize(astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    face = align_photo(_image(small))
    np.testing.assert_allclose(eye_centres(face.detection.landmarks), dlib_eye_centres(astronaut()) / 2, atol=2.0)


def test_huge_photo_aligns_like_the_original():
    # 12000 x 8000 canvas holding the astronaut enlarged 6x: detection runs on a 1024 px copy,
    # landmarks and warp use the full-size pixels.
    scale = 6
    big = cv2.resize(astronaut(), None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    canvas = np.full((8000, 12000, 3), 200, np.uint8)
    canvas[1000:1000 + big.shape[0], 5000:5000 + big.shape[1]] = big
    huge = align_photo(_image(canvas, "huge"), size=128)
    del canvas, big
    reference = align_photo(_image(astronaut()), size=128)
    np.testing.assert_allclose(eye_centres(huge.detection.landmarks) - [5000, 1000],
                               eye_centres(reference.detection.landmarks) * scale, atol=2.5 * scale)
    # The same face, aligned from 36x the pixels through the area-averaging path: nearly the same image.
    difference = np.abs(huge.image.astype(int) - reference.image.astype(int))
    assert np.median(difference) < 12


def _pattern(x, y):
    return 127 + 100 * np.sin(2 * np.pi * x / 40) * np.cos(2 * np.pi * y / 52)


def test_warp_shrink_path_lands_pixels_where_the_matrix_says():
    # A 4x reduction through the crop + area-averaging path, checked against the analytic pattern
    # sampled at the inverse-mapped pixel centres (a 0.4 px slip costs ~10 grey levels here).
    ys, xs = np.mgrid[0:600, 0:600].astype(np.float64)
    source = np.repeat(np.rint(_pattern(xs, ys)).astype(np.uint8)[:, :, None], 3, axis=2)
    angle, scale = np.deg2rad(10), 0.25
    matrix = np.array([[scale * np.cos(angle), -scale * np.sin(angle), -20.0],
                       [scale * np.sin(angle), scale * np.cos(angle), -30.0]])
    ours = warp_face(source, matrix, 96)[:, :, 0].astype(np.float64)
    v, u = np.mgrid[0:96, 0:96].astype(np.float64)
    back = np.stack([u.ravel(), v.ravel()], axis=1) @ np.linalg.inv(matrix[:, :2]).T
    back -= np.linalg.inv(matrix[:, :2]) @ matrix[:, 2]
    expected = _pattern(back[:, 0], back[:, 1]).reshape(96, 96)
    assert np.abs(ours - expected).mean() < 4.0


def test_aligned_mesh_travels_with_the_landmarks():
    face = align_photo(_image(astronaut()), size=256)
    assert face.mesh.shape == (468, 3)
    # The 468 points went through the same transform as the 68 derived from them.
    np.testing.assert_allclose(landmarks_68(face.mesh), face.landmarks, atol=1e-9)
    # Depth scales with the image: the nose tip stays nearer than the cheek edges by the same fraction
    # of the inter-eye distance as in the source.
    source_eyes = np.linalg.norm(np.subtract(*eye_centres(face.detection.landmarks)))
    aligned_eyes = np.linalg.norm(np.subtract(*eye_centres(face.landmarks)))
    relief = face.detection.mesh[234, 2] - face.detection.mesh[4, 2]
    assert face.mesh[234, 2] - face.mesh[4, 2] == pytest.approx(relief * aligned_eyes / source_eyes, rel=1e-6)


def test_crop_box_inside_is_the_slice_and_across_the_edge_replicates():
    image = np.random.default_rng(3).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    np.testing.assert_array_equal(crop_box(image, Box(5, 6, 25, 30)), image[6:30, 5:25])
    across = crop_box(image, Box(40, -3, 55, 10))
    assert across.shape == (13, 15, 3)
    np.testing.assert_array_equal(across[3:, :10], image[0:10, 40:50])
    np.testing.assert_array_equal(across[:3, :10], np.broadcast_to(image[0, 40:50], (3, 10, 3)))
    np.testing.assert_array_equal(across[3:, 10:], np.broadcast_to(image[0:10, 49:50], (10, 5, 3)))
