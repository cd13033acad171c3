"""Photo de-shrinking (issue 23, item 3): `ensemble.fit_photo_spread` / `widen` and the shipped models' use of it."""

from __future__ import annotations

import numpy as np
import pytest
from face_samples import astronaut

from f2p_engine.ensemble import MAX_PHOTO_SPREAD, fit_photo_spread, widen
from f2p_engine.face.aligned import align_photo
from f2p_engine.face.image import RGBImage
from f2p_engine.headmodel import schema
from f2p_engine.infer.pipeline import Predictor
from f2p_engine.synth.sampler import prior_spread


def test_fit_brings_the_spread_to_the_target_within_the_cap():
    rng = np.random.default_rng(0)
    prior = np.array([0.2, 0.2, 0.2, 0.2])
    # Photos spread at half, a quarter and a tenth of the prior; the last column is not to be stretched.
    predictions = 0.5 + rng.normal(size=(400, 4)) * np.array([0.1, 0.05, 0.02, 0.02])
    columns = np.array([True, True, True, False])
    spread = fit_photo_spread(predictions, prior, columns, target=np.full(4, 0.4), spread=0.9)
    widened = widen(predictions, spread)
    ratio = widened.std(axis=0) / prior
    assert ratio[0] == pytest.approx(0.9, rel=0.02)
    assert ratio[1] == pytest.approx(0.5 * MAX_PHOTO_SPREAD * 0.5, rel=0.05)  # capped: 0.05 x 2 = 0.1
    np.testing.assert_array_equal(widened[:, 3], predictions[:, 3])
    # Re-centred on the training mean: the photos' own mean lands on the target.
    assert widened[:, 0].mean() == pytest.approx(0.4, abs=0.01)


def test_widen_never_narrows_and_stays_in_range():
    predictions = np.array([[0.0, 0.4, 1.0], [1.0, 0.6, 0.0]])
    spread = fit_photo_spread(predictions, np.full(3, 0.01), np.ones(3, bool), np.full(3, 0.5))
    np.testing.assert_array_equal(spread.scale, 1.0)  # already wider than the prior
    assert widen(predictions + 0.7, spread).max() <= 1.0


def test_prior_spread_is_the_samplers():
    spread = prior_spread(count=400)
    by_name = dict(zip((p.name for p in schema.CONTINUOUS), spread, strict=True))
    # Face sliders ~ N(0, 0.35) on [-1, 1]: sigma 0.35 / 2 in normalised units (a little less: clipping).
    assert by_name["nose/nose-hump-decr|incr"] == pytest.approx(0.175, abs=0.02)
    assert by_name["macrodetails-universal/Weight"] == pytest.approx(0.15, abs=0.02)


def test_shipped_models_widen_photos_face_sliders_only():
    predictor = Predictor.load()
    face = align_photo(RGBImage(pixels=np.ascontiguousarray(astronaut()), source="astronaut"))
    outputs = predictor.run_all(face.image[None], face.landmarks[None])
    narrow = predictor.combine(outputs)[0][0]
    wide = predictor.combine(outputs, widened=True)[0][0]
    photo = predictor.predict_aligned(face.image, face.landmarks).continuous
    np.testing.assert_allclose(photo, wide)
    macro = np.array([p.region == "macro" for p in schema.CONTINUOUS])
    np.testing.assert_allclose(wide[macro], narrow[macro])
    moved = np.abs(wide - narrow)[~macro]
    assert (moved > 1e-3).mean() > 0.5  # most face sliders move
    assert np.all(predictor.spread.scale[~macro] >= 1.0)
    assert np.median(predictor.spread.scale[~macro]) > 1.3
