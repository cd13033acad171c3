"""A photo's readings (macro member, colours, hair) made on the reading thread while the members run: the
same prediction as read in turn, on another thread, and a reading's failure reaches the caller."""

import threading
from concurrent.futures import Future

import numpy as np
import pytest
from skimage.data import astronaut

from f2p_engine.errors import InputError
from f2p_engine.face.aligned import align_photo
from f2p_engine.face.image import RGBImage
from f2p_engine.face.reading import PhotoReading, read_photo, read_photo_soon
from f2p_engine.infer.pipeline import Predictor, predict_photo


@pytest.fixture(scope="module")
def photo():
    return RGBImage(pixels=astronaut(), source="astronaut")


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


def test_the_reading_thread_reads_what_reading_in_turn_reads(photo, monkeypatch):
    face = align_photo(photo)
    threads = []
    # Note the thread each reading is made on.
    monkeypatch.setattr("f2p_engine.face.reading.PhotoReading",
                        lambda **fields: threads.append(threading.current_thread()) or PhotoReading(**fields))
    soon = read_photo_soon(photo, face.image, face.landmarks, face.detection).result(timeout=60)
    now = read_photo(photo, face.image, face.landmarks, face.detection)
    assert threads[0] is not threading.current_thread()
    assert threads[1] is threading.current_thread()
    assert soon.attributes == now.attributes
    assert soon.hair == now.hair
    assert soon.colours.describe() == now.colours.describe()
    assert np.array_equal(soon.colours.skin, now.colours.skin)
    assert set(soon.timings) == {"attributes", "colours", "hair"}


def test_a_photo_predicted_with_its_reading_beside_the_members_is_the_one_read_in_turn(photo, predictor):
    from f2p_engine.adapt import DEFAULT_ADAPTER, create_adapter, stylise

    prediction, adapted = predict_photo(predictor, photo)
    face = align_photo(photo)
    assert np.array_equal(adapted.image, stylise(face, create_adapter(DEFAULT_ADAPTER)).image)
    in_turn = predictor.predict_aligned(adapted.image, adapted.landmarks,
                                        reading=read_photo(photo, face.image, face.landmarks, face.detection))
    assert prediction.recipe == in_turn.recipe
    assert prediction.sources == in_turn.sources
    assert {"align", "adapt", "attributes", "colours", "hair", "models", "unfold"} <= set(prediction.timings)


def test_a_reading_that_failed_fails_the_prediction(photo, predictor):
    face = align_photo(photo)
    failed: Future = Future()
    failed.set_exception(InputError("astronaut: no iris"))
    with pytest.raises(InputError, match="no iris"):
        predictor.predict_aligned(face.image, face.landmarks, reading=failed)
