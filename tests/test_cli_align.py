"""`f2p align`: outputs, the Done-when checks of issue 4, and clean failures."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from face_samples import astronaut, dlib_eye_centres, no_face, two_faces
from PIL import Image

from f2p_engine.cli import main
from f2p_engine.face.align import LOCAL_REGIONS

OUTPUTS = {"aligned.png", "stylised.png", "landmarks.json", "crops"}


def _save(path, rgb):
    assert cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    return path


def _imread_rgb(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def astronaut_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("astronaut")
    assert main(["align", str(_save(root / "astronaut.png", astronaut())), "-o", str(root / "out")]) == 0
    return root / "out"


def test_astronaut_eyes_on_targets_by_independent_dlib(astronaut_run):
    record = json.loads((astronaut_run / "landmarks.json").read_text())
    aligned = _imread_rgb(astronaut_run / "aligned.png")
    assert aligned.shape == (256, 256, 3)
    targets = np.array(record["eye_targets"])
    np.testing.assert_allclose(targets, [[92.16, 97.28], [163.84, 97.28]])
    assert np.abs(dlib_eye_centres(aligned) - targets).max() < 3.0


def test_landmarks_json_and_crops(astronaut_run):
    assert {p.name for p in astronaut_run.iterdir()} == OUTPUTS
    record = json.loads((astronaut_run / "landmarks.json").read_text())
    landmarks = np.array(record["landmarks"])
    assert landmarks.shape == (68, 2)
    assert np.all((landmarks > 0) & (landmarks < 256))
    assert record["size"] == 256
    assert record["adapter"] == "photometric"
    assert record["detection"]["faces_found"] == 1
    assert record["detection"]["score"] > 0.3
    transform = np.array(record["transform"])
    source_points = np.array(record["detection"]["landmarks"])
    np.testing.assert_allclose(source_points @ transform[:, :2].T + transform[:, 2], landmarks, atol=0.01)
    assert set(record["boxes"]) == set(LOCAL_REGIONS)
    stylised = _imread_rgb(astronaut_run / "stylised.png")
    for region, (x0, y0, x1, y1) in record["boxes"].items():
        crop = _imread_rgb(astronaut_run / "crops" / f"{region}.png")
        if min(x0, y0) >= 0 and max(x1, y1) <= 256:
            np.testing.assert_array_equal(crop, stylised[y0:y1, x0:x1])
        assert crop.shape == (y1 - y0, x1 - x0, 3)
    # The face stays inside the stylised image's face region: the nose tip is skin, not background.
    nose_tip = landmarks[30].round().astype(int)
    assert stylised[nose_tip[1], nose_tip[0]].mean() > 120  # skin, not the grey background


def test_identity_adapter_and_size(tmp_path):
    photo = _save(tmp_path / "a.png", astronaut())
    assert main(["align", str(photo), "-o", str(tmp_path / "o"), "--adapter", "none", "--size", "128"]) == 0
    aligned = _imread_rgb(tmp_path / "o" / "aligned.png")
    assert aligned.shape == (128, 128, 3)
    np.testing.assert_array_equal(_imread_rgb(tmp_path / "o" / "stylised.png"), aligned)


def _exif_rotated(path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": store the photo turned the other way
    Image.fromarray(np.rot90(astronaut(), k=1)).save(path, quality=95, exif=exif)


def _rgba(path):
    rgba = np.dstack([astronaut(), np.full(astronaut().shape[:2], 255, np.uint8)])
    rgba[:40, :, 3] = 0
    Image.fromarray(rgba, "RGBA").save(path)


def _sixteen_bit(path):
    assert cv2.imwrite(str(path), cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR).astype(np.uint16) * 257)


@pytest.mark.parametrize(("name", "write"), [("rotated.jpg", _exif_rotated), ("alpha.png", _rgba),
                                             ("deep.png", _sixteen_bit)])
def test_awkward_photos_align_like_the_plain_one(tmp_path, astronaut_run, name, write):
    write(tmp_path / name)
    assert main(["align", str(tmp_path / name), "-o", str(tmp_path / "o")]) == 0
    ours = np.array(json.loads((tmp_path / "o" / "landmarks.json").read_text())["landmarks"])
    plain = np.array(json.loads((astronaut_run / "landmarks.json").read_text())["landmarks"])
    assert np.abs(ours - plain).mean() < 1.0  # dlib's landmarks move a pixel or two with JPEG noise
    assert np.abs(ours - plain).max() < 4.0


def test_huge_jpeg_file(tmp_path):
    # 12000 x 8000 (96 Mpx) holding the astronaut enlarged 6x: decoded whole, detected on a 1024 px copy.
    big = cv2.resize(astronaut(), None, fx=6, fy=6, interpolation=cv2.INTER_LINEAR)
    canvas = np.full((8000, 12000, 3), 200, np.uint8)
    canvas[1000:1000 + big.shape[0], 5000:5000 + big.shape[1]] = big
    assert cv2.imwrite(str(tmp_path / "huge.jpg"), canvas[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    del canvas, big
    assert main(["align", str(tmp_path / "huge.jpg"), "-o", str(tmp_path / "o")]) == 0
    aligned = _imread_rgb(tmp_path / "o" / "aligned.png")
    assert np.abs(dlib_eye_centres(aligned) - [[92.16, 97.28], [163.84, 97.28]]).max() < 3.0


def test_two_faces_warns_and_uses_the_largest(tmp_path, capsys):
    photo = _save(tmp_path / "two.png", two_faces())
    assert main(["align", str(photo), "-o", str(tmp_path / "o")]) == 0
    assert capsys.readouterr().err == f"f2p align: warning: {photo}: 2 faces found, using the largest\n"
    record = json.loads((tmp_path / "o" / "landmarks.json").read_text())
    assert record["detection"]["faces_found"] == 2
    assert record["detection"]["box"][2] < 500


def _no_face(tmp_path):
    return _save(tmp_path / "coffee.png", no_face())


def _text(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list\n")
    return path


def _missing(tmp_path):
    return tmp_path / "missing.jpg"


def _one_pixel(tmp_path):
    return _save(tmp_path / "dot.png", np.zeros((1, 1, 3), np.uint8))


@pytest.mark.parametrize(("make", "message"), [
    (_no_face, "no face found in the 600x400 image"), (_text, "not a readable image (unknown format or corrupt file)"),
    (_missing, "no such file"), (_one_pixel, "no face found in the 1x1 image")])
def test_bad_input_exits_2_with_one_line_and_no_output(tmp_path, capsys, make, message):
    photo = make(tmp_path)
    out = tmp_path / "out"
    assert main(["align", str(photo), "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"f2p align: error: {photo}: {message}\n"
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_failure_keeps_an_earlier_result(tmp_path, astronaut_run):
    out = tmp_path / "out"
    photo = _save(tmp_path / "a.png", astronaut())
    assert main(["align", str(photo), "-o", str(out), "--adapter", "none"]) == 0
    before = (out / "aligned.png").read_bytes()
    assert main(["align", str(_no_face(tmp_path)), "-o", str(out)]) == 2
    assert (out / "aligned.png").read_bytes() == before
    assert main(["align", str(photo), "-o", str(out)]) == 0  # re-run into the same folder
    assert json.loads((out / "landmarks.json").read_text())["adapter"] == "photometric"


def test_output_path_that_is_a_file(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert main(["align", str(_save(tmp_path / "a.png", astronaut())), "-o", str(tmp_path / "taken")]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_real_process_text_file_exits_2_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "f2p_engine", "align", str(_text(tmp_path)), "-o",
                             str(tmp_path / "o")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_help_lists_the_outputs():
    result = subprocess.run([sys.executable, "-m", "f2p_engine", "align", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert "landmarks.json" in result.stdout
