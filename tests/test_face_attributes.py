"""The macro member (`face.attributes`): real ONNX sessions on the astronaut, the rule to MakeHuman's
sliders, the checked model files, and the predictor taking photos' Gender and Age from it."""

import shutil

import numpy as np
import pytest
from skimage.data import astronaut

from f2p_engine.errors import AssetError
from f2p_engine.face.aligned import align_photo
from f2p_engine.face.attributes import FaceAttributes, attribute_models_dir, read_attributes
from f2p_engine.face.image import RGBImage
from f2p_engine.face.reading import PhotoReading
from f2p_engine.headmodel import schema
from f2p_engine.headmodel.macro import age_from_years, years_from_age
from f2p_engine.infer.pipeline import (
    BY_GENDER,
    MEASURED,
    MEASURED_GROUPS,
    PHOTO_LOOKS,
    SHORT_HAIR,
    Predictor,
    predict_photo,
)

GENDER, AGE = "macrodetails/Gender", "macrodetails/Age"


@pytest.fixture(scope="module")
def photo():
    return RGBImage(pixels=astronaut(), source="astronaut")


@pytest.fixture(scope="module")
def face(photo):
    return align_photo(photo)


def test_the_astronaut_reads_as_a_woman_in_her_thirties(face):
    # Eileen Collins, about 42 in this 1999 photo; the network's estimate is younger but adult.
    read = read_attributes(face.image, face.landmarks)
    assert read.male < 0.05
    assert 20.0 < read.years < 50.0
    assert 0.0 <= read.years_spread < 15.0


def test_photo_and_aligned_face_read_alike(photo, face):
    # The chip is cut by the landmarks, so the full photo and the aligned face give the same reading.
    from_photo = read_attributes(photo.pixels, face.detection.landmarks)
    from_aligned = read_attributes(face.image, face.landmarks)
    assert from_photo.male == pytest.approx(from_aligned.male, abs=0.02)
    assert from_photo.years == pytest.approx(from_aligned.years, abs=3.0)


def test_rule_to_makehuman_sliders():
    assert FaceAttributes(male=0.999, years=25.0, years_spread=0.0).gender_value == 0.95
    assert FaceAttributes(male=0.001, years=25.0, years_spread=0.0).gender_value == 0.05
    assert FaceAttributes(male=0.3, years=25.0, years_spread=0.0).gender_value == pytest.approx(0.3)
    assert FaceAttributes(male=0.5, years=25.0, years_spread=0.0).gender_confidence == 0.0
    assert FaceAttributes(male=0.0, years=25.0, years_spread=10.0).age_confidence == pytest.approx(0.5)
    # MakeHuman's anchors: 0 = 1 year, 0.1875 = 11, 0.5 = 25, 1 = 90, linear between.
    for value, years in ((0.0, 1.0), (0.1875, 11.0), (0.5, 25.0), (1.0, 90.0)):
        assert age_from_years(years) == pytest.approx(value)
        assert years_from_age(value) == pytest.approx(years)
    assert age_from_years(57.5) == pytest.approx(0.75)
    assert age_from_years(6.0) == pytest.approx(0.09375)
    assert FaceAttributes(male=0.0, years=90.0, years_spread=0.0).age_value == 1.0
    assert age_from_years(0.25) == 0.0  # below a year: the slider's end


def test_a_tampered_model_is_refused(tmp_path, monkeypatch, face):
    shipped, copy = attribute_models_dir(), tmp_path / "resources" / "attributes"
    shutil.copytree(shipped, copy)
    data = bytearray((copy / "gender-v1.onnx").read_bytes())
    data[-1] ^= 1
    (copy / "gender-v1.onnx").write_bytes(bytes(data))
    monkeypatch.setenv("F2P_RESOURCES", str(tmp_path / "resources"))
    with pytest.raises(AssetError, match=r"gender-v1\.onnx: sha256 does not match"):
        read_attributes(face.image, face.landmarks)
    shutil.copyfile(shipped / "gender-v1.onnx", copy / "gender-v1.onnx")
    (copy / "age-v1.onnx").unlink()
    with pytest.raises(AssetError, match=r"age-v1\.onnx: attribute model file missing"):
        read_attributes(face.image, face.landmarks)


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load(None)


def test_photos_take_gender_and_age_from_the_macro_member(predictor, photo):
    prediction, face = predict_photo(predictor, photo)
    read = prediction.attributes
    assert read is not None
    assert prediction.recipe.value(GENDER) == pytest.approx(read.gender_value, abs=1e-6)
    assert prediction.recipe.value(AGE) == pytest.approx(read.age_value, abs=1e-6)
    assert prediction.recipe.value(GENDER) == 0.05  # she reads as a woman, decisively
    assert "attributes" in prediction.timings
    # Her beard is the rule's for a woman (the members' read of it is for renders); her hair is short and
    # dark, measured in the photo: no hair hangs beside her face, and it reads dark against her skin
    # (`face.hair`).
    assert prediction.hair is not None
    assert not prediction.hair.on_either_side
    assert not prediction.hair.light
    looks = {g: prediction.recipe.choice(g) for g in PHOTO_LOOKS["female"]}
    assert looks == {**PHOTO_LOOKS["female"], "hair": SHORT_HAIR}
    # ... and the prediction says so, with the colours measured in her pixels (the studio shows both).
    assert prediction.sources == {**dict.fromkeys(PHOTO_LOOKS["female"], BY_GENDER), "hair": MEASURED,
                                  "hair_colour": MEASURED, **dict.fromkeys(MEASURED_GROUPS, MEASURED)}
    # Without a reading (renders, the synthetic evaluation), the CNN members' values stay; the
    # photo's measured colours, applied alike to both, change nothing else.
    cnn = predictor.predict_aligned(face.image, face.landmarks, reading=PhotoReading(colours=prediction.colours))
    assert cnn.attributes is None
    assert cnn.sources == dict.fromkeys(MEASURED_GROUPS, MEASURED)
    assert cnn.recipe.value(GENDER) != pytest.approx(prediction.recipe.value(GENDER), abs=1e-3)
    # The ensemble's values (before a fold, which depends on the whole head, is removed) agree elsewhere.
    others = [i for i, p in enumerate(schema.CONTINUOUS) if p.name not in (GENDER, AGE)]
    np.testing.assert_allclose(prediction.continuous[others], cnn.continuous[others])
    assert np.isfinite(prediction.continuous).all()
