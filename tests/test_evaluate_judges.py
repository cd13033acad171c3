"""Identity judges (dlib, FaceNet) and the likeness metrics computed from their embeddings.

Metrics are checked on hand-built embeddings whose answers are known by construction; the judges
on the astronaut photo, a mirrored darker copy of it (same person, detected again) and a render of
the default MakeHuman head (someone else). The FaceNet tests need the judge built
(scripts/install.sh builds it; `python3 scripts/build_facenet_judge.py`).
"""

import json

import cv2
import numpy as np
import pytest
from face_samples import astronaut

import f2p_engine.evaluate.judges as judges_module
from f2p_engine.errors import AssetError, InputError
from f2p_engine.evaluate.judges import (
    ALIGNED_TEMPLATE,
    FaceNetJudge,
    available_judges,
    create_judge,
    facenet_crop,
    facenet_crop_matrix,
    likeness_metrics,
)
from f2p_engine.face.detect import detect_faces
from f2p_engine.face.identity import cosine_distance
from f2p_engine.face.image import RGBImage
from f2p_engine.recipe import Recipe
from f2p_engine.render.recipe_view import render_recipe
from f2p_engine.render.renderer import Renderer

# --- metrics -------------------------------------------------------------------------------------

def test_renders_that_carry_identity_are_recognised_perfectly():
    rng = np.random.default_rng(0)
    photos = rng.normal(size=(12, 32))
    renders = 3.0 * (photos + 0.05 * rng.normal(size=photos.shape))  # scale must not matter
    result = likeness_metrics(photos, renders, default=rng.normal(size=32))
    assert (result.people, result.renders) == (12, 12)
    assert result.top1 == 1.0
    assert result.top5 == 1.0
    assert result.mean_rank_percentile == 0.0
    assert result.closer_than_default == 1.0
    assert 0.0 < result.median_distance <= result.mean_distance < 0.01


def test_shuffled_renders_are_at_chance():
    rng = np.random.default_rng(1)
    photos = rng.normal(size=(300, 32))
    renders = photos[rng.permutation(300)] + 0.01 * rng.normal(size=photos.shape)  # someone else's render
    result = likeness_metrics(photos, renders, default=rng.normal(size=32))
    assert result.mean_rank_percentile == pytest.approx(0.5, abs=0.05)
    assert result.top1 < 0.02
    assert result.top5 < 0.05
    assert result.closer_than_default == pytest.approx(0.5, abs=0.1)


def test_planted_ties_count_half_and_a_missing_render_keeps_its_photo_in_the_gallery():
    photos = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # photos 0 and 1 are identical
    renders = np.array([[1.0, 0.0],  # own photo ties with photo 1: rank 1 or 2
                        [0.0, 1.0],  # photo 2 closer, photos 0 and 3 tie with the own photo (distance 1)
                        [np.nan, np.nan],  # no face found in this render
                        [-1.0, 0.0]])  # exact
    result = likeness_metrics(photos, renders, default=np.array([0.0, -1.0]))  # distance 1 to photos 0, 1, 3
    assert (result.people, result.renders) == (4, 3)
    assert result.mean_distance == pytest.approx(1 / 3)
    assert result.median_distance == 0.0
    assert result.closer_than_default == pytest.approx((1 + 0.5 + 1) / 3)  # person 1 ties with the default
    assert result.top1 == pytest.approx((0.5 + 0 + 1) / 3)
    assert result.top5 == 1.0
    assert result.mean_rank_percentile == pytest.approx((0.5 / 3 + (1 + 2 * 0.5) / 3 + 0) / 3)


def test_a_default_head_per_person():
    photos = np.array([[1.0, 0.0], [0.0, 1.0]])
    renders = np.array([[1.0, 0.2], [0.2, 1.0]])
    # Person 0's default (wearing person 0's hair) is closer to photo 0 than the render; person 1's is not.
    defaults = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert likeness_metrics(photos, renders, default=defaults).closer_than_default == 0.5
    assert likeness_metrics(photos, renders, default=defaults[1]).closer_than_default == 0.5
    assert likeness_metrics(photos, renders, default=np.eye(2)).closer_than_default == 0.0  # each default is the photo
    assert likeness_metrics(photos, renders, default=np.eye(2)[::-1]).closer_than_default == 1.0
    with pytest.raises(ValueError, match="need photos"):
        likeness_metrics(photos, renders, default=np.ones((3, 2)))


def test_one_person_and_no_renders():
    one = likeness_metrics(np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]]), default=np.array([0.0, 1.0]))
    assert one.mean_distance == pytest.approx(1 - np.sqrt(0.5))
    assert one.closer_than_default == 1.0
    assert (one.top1, one.top5, one.mean_rank_percentile) == (None, None, None)
    none = likeness_metrics(np.eye(3), np.full((3, 3), np.nan), default=np.ones(3))
    assert none.to_json() == {"people": 3, "renders": 0, "mean_distance": None, "median_distance": None,
                              "closer_than_default": None, "top1": None, "top5": None, "mean_rank_percentile": None}


def test_metrics_reject_bad_shapes_and_zero_vectors_and_serialise():
    with pytest.raises(ValueError, match="need photos"):
        likeness_metrics(np.eye(3), np.eye(2), default=np.ones(3))
    with pytest.raises(ValueError, match="zero vector"):
        likeness_metrics(np.eye(3), np.zeros((3, 3)), default=np.ones(3))
    result = likeness_metrics(np.eye(3), np.eye(3), default=np.ones(3))
    assert json.loads(json.dumps(result.to_json())) == result.to_json()
    assert result.mean_distance == 0.0


# --- judges on real pictures -------------------------------------------------------------------

def _face(pixels: np.ndarray, source: str) -> tuple[RGBImage, np.ndarray]:
    image = RGBImage(pixels=np.ascontiguousarray(pixels), source=source)
    faces = detect_faces(image)
    assert faces, f"no face found in {source}"
    return image, faces[0].landmarks


@pytest.fixture(scope="module")
def pictures():
    darker = cv2.convertScaleAbs(np.ascontiguousarray(astronaut()[:, ::-1]), alpha=0.7, beta=10)
    render = render_recipe(Recipe(), Renderer(256))
    return {"photo": _face(astronaut(), "astronaut"), "same": _face(darker, "astronaut mirrored, darker"),
            "render": _face(render, "default head")}


def _distances(judge, pictures):
    embeddings = {key: judge.embed(image, landmarks) for key, (image, landmarks) in pictures.items()}
    for vector in embeddings.values():
        assert vector.dtype == np.float64
        assert np.linalg.norm(vector) == pytest.approx(1.0)
    photo = embeddings["photo"]
    return embeddings, cosine_distance(photo, embeddings["same"]), cosine_distance(photo, embeddings["render"])


def test_dlib_judge_tells_the_same_person_from_a_render(pictures):
    embeddings, same, render = _distances(create_judge("dlib"), pictures)
    assert embeddings["photo"].shape == (128,)
    assert same < 0.05
    assert render > 3 * same


@pytest.mark.parametrize("crop", ["aligned", "box"])
def test_facenet_judge_tells_the_same_person_from_a_render(pictures, crop):
    embeddings, same, render = _distances(FaceNetJudge(crop), pictures)
    assert embeddings["photo"].shape == (512,)
    assert same < 0.1
    assert render > 3 * same


def test_facenet_embedding_depends_on_the_face():
    image, landmarks = _face(astronaut(), "astronaut")
    judge = create_judge("facenet")
    blank = RGBImage(pixels=np.full_like(astronaut(), 128), source="blank")
    noise = RGBImage(pixels=np.random.default_rng(2).integers(0, 256, astronaut().shape, np.uint8), source="noise")
    face = judge.embed(image, landmarks)
    assert cosine_distance(face, judge.embed(noise, landmarks)) > 0.3
    assert np.all(np.isfinite(judge.embed(blank, landmarks)))  # std floor: a flat crop is no division by zero


def test_aligned_crop_undoes_roll_and_box_crop_does_not():
    image, landmarks = _face(astronaut(), "astronaut")
    turn = cv2.getRotationMatrix2D((256.0, 256.0), 15.0, 1.0)
    rolled = RGBImage(pixels=cv2.warpAffine(astronaut(), turn, (512, 512), flags=cv2.INTER_LINEAR), source="rolled")
    rolled_landmarks = landmarks @ turn[:, :2].T + turn[:, 2]
    eyes_mouth = np.stack([landmarks[36:42].mean(0), landmarks[42:48].mean(0), landmarks[48:60].mean(0)])
    placed = eyes_mouth @ facenet_crop_matrix(landmarks)[:, :2].T + facenet_crop_matrix(landmarks)[:, 2]
    np.testing.assert_allclose(placed, ALIGNED_TEMPLATE, atol=4.0)

    def change(crop):
        a = facenet_crop(image, landmarks, crop).astype(float)
        b = facenet_crop(rolled, rolled_landmarks, crop).astype(float)
        return np.abs(a - b)[30:130, 30:130].mean()  # the face, away from the rotated picture's corners

    assert change("aligned") < 6
    assert change("box") > 3 * change("aligned")


def test_registry_and_missing_or_altered_facenet(monkeypatch, tmp_path):
    assert list(available_judges()) == ["dlib", "facenet"]
    with pytest.raises(InputError, match="unknown judge 'arcface'"):
        create_judge("arcface")
    missing = tmp_path / "missing.onnx"
    monkeypatch.setenv(judges_module.FACENET_PATH_VARIABLE, str(missing))
    assert judges_module.facenet_onnx_path() == missing
    with pytest.raises(AssetError, match=rf"^FaceNet judge: {missing} is missing; build it with: "
                                         r"python3 scripts/build_facenet_judge\.py$"):
        create_judge("facenet")
    altered = tmp_path / "altered.onnx"
    altered.write_bytes(b"not the judge")
    monkeypatch.setenv(judges_module.FACENET_PATH_VARIABLE, str(altered))
    with pytest.raises(AssetError, match=r"not the expected build .*build_facenet_judge\.py --force"):
        create_judge("facenet")


def test_facenet_judge_is_cached_outside_the_repository(monkeypatch, tmp_path):
    monkeypatch.delenv(judges_module.FACENET_PATH_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert judges_module.facenet_onnx_path() == tmp_path / "f2p" / "judges" / "facenet.onnx"
