"""Image loading: formats, EXIF orientation, grey/RGBA/16-bit normalisation, unreadable files."""

import cv2
import numpy as np
import pytest
from face_samples import astronaut
from PIL import Image, ImageOps

from f2p_engine.errors import InputError
from f2p_engine.face.image import RGBImage, load_image, to_rgb8, write_png


def _write_rgb(path, rgb):
    assert cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))


def test_png_round_trip_is_exact(tmp_path):
    write_png(tmp_path / "a.png", astronaut())
    loaded = load_image(tmp_path / "a.png")
    assert loaded.source == str(tmp_path / "a.png")
    np.testing.assert_array_equal(loaded.pixels, astronaut())


def test_jpeg_is_rgb_not_bgr(tmp_path):
    red = np.zeros((64, 48, 3), np.uint8)
    red[..., 0] = 220
    Image.fromarray(red).save(tmp_path / "red.jpg", quality=95)
    pixels = load_image(tmp_path / "red.jpg").pixels
    assert pixels.shape == (64, 48, 3)
    assert pixels[..., 0].mean() > 200
    assert pixels[..., 2].mean() < 20


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    # An asymmetric picture, so every rotation and flip gives different pixels.
    stored = cv2.resize(astronaut(), (96, 64), interpolation=cv2.INTER_AREA)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    with Image.open(path) as image:
        expected = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    loaded = load_image(path).pixels
    assert loaded.shape == expected.shape
    assert np.abs(loaded.astype(int) - expected).max() <= 2  # two JPEG decoders


def test_rgba_composited_over_white(tmp_path):
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 1] = 200  # green everywhere
    rgba[:, :15, 3] = 255  # left half opaque, right half transparent
    rgba[:, 15:, 3] = 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    pixels = load_image(tmp_path / "a.png").pixels
    np.testing.assert_array_equal(pixels[0, 0], [0, 200, 0])
    np.testing.assert_array_equal(pixels[0, 29], [255, 255, 255])


def test_16_bit_png_scaled_to_8_bit(tmp_path):
    rgb8 = cv2.resize(astronaut(), (40, 40))
    rgb16 = rgb8.astype(np.uint16) * 257
    assert cv2.imwrite(str(tmp_path / "a16.png"), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    np.testing.assert_array_equal(load_image(tmp_path / "a16.png").pixels, rgb8)


def test_grey_png_becomes_three_equal_channels(tmp_path):
    grey = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2GRAY)
    Image.fromarray(grey, "L").save(tmp_path / "g.png")
    pixels = load_image(tmp_path / "g.png").pixels
    for channel in range(3):
        np.testing.assert_array_equal(pixels[..., channel], grey)


def test_gif_read_through_pillow(tmp_path):
    Image.fromarray(np.full((8, 8, 3), (10, 20, 30), np.uint8)).convert("RGB").save(tmp_path / "a.gif")
    pixels = load_image(tmp_path / "a.gif").pixels
    assert pixels.shape == (8, 8, 3)
    assert np.abs(pixels[4, 4].astype(int) - [10, 20, 30]).max() <= 8  # GIF palette quantisation


def test_one_pixel_image_loads(tmp_path):
    _write_rgb(tmp_path / "1.png", np.full((1, 1, 3), 77, np.uint8))
    assert load_image(tmp_path / "1.png").pixels.shape == (1, 1, 3)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("text.jpg", b"this is not a picture\n", "not a readable image"),
    ("empty.png", b"", "empty file"),
    ("cut.jpg", None, "not a readable image"),
])
def test_unreadable_files_raise_one_line_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:  # a JPEG cut after its header
        Image.fromarray(astronaut()).save(path, quality=90)
        content = path.read_bytes()[:400]
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        load_image(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(InputError, match="is a folder, not a file"):
        load_image(tmp_path)


def test_to_rgb8_float_and_errors():
    np.testing.assert_array_equal(to_rgb8(np.array([[0.0, 0.5, 2.0]])), [[[0, 0, 0], [128, 128, 128], [255, 255, 255]]])
    with pytest.raises(ValueError, match="not an image"):
        to_rgb8(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="unsupported"):
        to_rgb8(np.zeros((4, 4), np.int64))


def test_rgb_image_rejects_wrong_arrays():
    with pytest.raises(ValueError, match="uint8"):
        RGBImage(pixels=np.zeros((4, 4), np.uint8), source="x")
    view = RGBImage(pixels=astronaut()[:, ::-1], source="flipped")
    assert view.pixels.flags.c_contiguous  # dlib and OpenCV need contiguous buffers


def test_too_many_pixels_refused_before_decoding(tmp_path, monkeypatch):
    from f2p_engine.face import image

    _write_rgb(tmp_path / "big.png", np.zeros((100, 100, 3), np.uint8))
    monkeypatch.setattr(image, "MAX_PIXELS", 5000)
    with pytest.raises(InputError, match=r"big\.png: image too large"):
        load_image(tmp_path / "big.png")
