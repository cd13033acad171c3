"""Domain adapters: registry, none (no change), and the photometric adapter's effect on real photos."""

import numpy as np
import pytest
from face_samples import astronaut, dlib_eye_centres
from skimage.color import rgb2lab

from f2p_engine.adapt import Adapter, available_adapters, create_adapter, register_adapter, stylise
from f2p_engine.adapt.photometric import PhotometricAdapter, PhotometricSettings, face_mask
from f2p_engine.errors import InputError
from f2p_engine.face.align import eye_targets
from f2p_engine.face.aligned import align_photo
from f2p_engine.face.image import RGBImage


@pytest.fixture(scope="module")
def face():
    return align_photo(RGBImage(pixels=np.ascontiguousarray(astronaut()), source="astronaut"), size=256)


def test_registry_lists_and_creates_the_builtin_adapters():
    adapters = available_adapters()
    assert list(adapters)[:2] == ["none", "photometric"]
    assert all(adapters.values())
    assert isinstance(create_adapter("photometric"), PhotometricAdapter)
    with pytest.raises(InputError, match=r"unknown adapter 'cyclegan' \(available: none, photometric"):
        create_adapter("cyclegan")
    with pytest.raises(ValueError, match="already registered"):
        register_adapter(type("Again", (PhotometricAdapter,), {}))


class _Invert(Adapter):
    name = "invert"
    description = "test only"

    def apply(self, image, landmarks):
        return 255 - image


def test_stylise_takes_crops_from_the_adapted_image(face):
    inverted = stylise(face, _Invert())
    np.testing.assert_array_equal(inverted.image, 255 - face.image)
    for region, crop in face.crops.items():
        np.testing.assert_array_equal(inverted.crops[region], 255 - crop)
    np.testing.assert_array_equal(inverted.landmarks, face.landmarks)
    same = stylise(face, create_adapter("none"))
    np.testing.assert_array_equal(same.image, face.image)
    assert same.image is not face.image


def test_photometric_keeps_the_face_where_alignment_put_it(face):
    out = create_adapter("photometric").apply(face.image, face.landmarks)
    assert out.shape == face.image.shape
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, create_adapter("photometric").apply(face.image, face.landmarks))
    assert np.abs(dlib_eye_centres(out) - eye_targets(256)).max() < 3.0


def test_photometric_background_is_the_plain_gradient(face):
    settings = PhotometricSettings()
    out = PhotometricAdapter(settings).apply(face.image, face.landmarks)
    mask = face_mask(face.landmarks, 256, settings)
    assert mask[128, 128] == pytest.approx(1.0)  # nose: face
    assert mask[250, 5] == pytest.approx(0.0)  # lower corner: shoulder
    # The astronaut's white suit and the flag are gone from the corners: only the gradient is left.
    t = np.arange(256)[:, None, None] / 255
    gradient = (1 - t) * np.array(settings.background_top) + t * np.array(settings.background_bottom)
    np.testing.assert_allclose(out[:, :20], np.broadcast_to(gradient, (256, 20, 3)), atol=1)
    np.testing.assert_allclose(out[200:, -20:], np.broadcast_to(gradient[200:], (56, 20, 3)), atol=1)


def _face_lab(image, landmarks):
    """Mean CIELAB over the central face (between the eyes and the mouth), skimage's conversion."""
    x0, y0 = landmarks[[39, 42, 31, 35], 0].mean() - 30, landmarks[[40, 47], 1].mean() + 5
    return rgb2lab(image[int(y0):int(y0) + 40, int(x0):int(x0) + 60]).reshape(-1, 3).mean(axis=0)


def test_photometric_reduces_a_colour_cast(face):
    cast = np.clip(face.image.astype(int) + np.array([-15, 0, 35]), 0, 255).astype(np.uint8)  # bluish light
    adapter = create_adapter("photometric")
    before = _face_lab(cast, face.landmarks)[1:] - _face_lab(face.image, face.landmarks)[1:]
    after = (_face_lab(adapter.apply(cast, face.landmarks), face.landmarks)[1:]
             - _face_lab(adapter.apply(face.image, face.landmarks), face.landmarks)[1:])
    assert np.linalg.norm(before) > 10
    assert np.linalg.norm(after) < 0.5 * np.linalg.norm(before)


def test_photometric_flattens_side_lighting(face):
    ramp = np.linspace(0.6, 1.2, 256)[None, :, None]  # light from the image right
    lit = np.clip(face.image * ramp, 0, 255).astype(np.uint8)

    def left_right_gap(image):
        lightness = rgb2lab(image)[..., 0]
        return lightness[120:150, 150:175].mean() - lightness[120:150, 80:105].mean()

    adapter = create_adapter("photometric")
    added = left_right_gap(lit) - left_right_gap(face.image)
    left = (left_right_gap(adapter.apply(lit, face.landmarks))
            - left_right_gap(adapter.apply(face.image, face.landmarks)))
    assert added > 5
    assert left < 0.8 * added


def test_settings_are_checked():
    with pytest.raises(ValueError, match="chroma_strength"):
        PhotometricSettings(chroma_strength=1.5)
