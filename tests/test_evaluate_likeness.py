"""Likeness on real photos (paper Table 4): `evaluate_likeness`, its report section and `f2p evaluate --photos`.

Real components throughout: the shipped models, the renderer on EGL, dlib. Photos: the astronaut,
its mirror image (a second "person"), a grey picture without a face and a text file named .jpg.
"""

import json

import numpy as np
import pytest
from skimage.data import astronaut

from f2p_engine.adapt import available_adapters
from f2p_engine.cli import main
from f2p_engine.errors import InputError
from f2p_engine.evaluate.likeness import evaluate_likeness, photo_files
from f2p_engine.evaluate.report import write_report
from f2p_engine.face.detect import detect_faces
from f2p_engine.face.identity import cosine_distance, identity_descriptor
from f2p_engine.face.image import RGBImage, load_image, write_png
from f2p_engine.infer.pipeline import Predictor, predict_photo
from f2p_engine.render.recipe_view import render_recipe
from f2p_engine.render.renderer import Renderer

TABLE = "## Likeness on real photos (paper Table 4)"


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    write_png(folder / "astronaut.png", astronaut())
    write_png(folder / "mirrored.png", np.ascontiguousarray(astronaut()[:, ::-1]))
    write_png(folder / "blank.png", np.full((120, 160, 3), 128, np.uint8))
    (folder / "notes.jpg").write_text("not a picture\n")
    (folder / "readme.txt").write_text("not picked up: no image ending\n")
    return folder


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load(None)


@pytest.fixture(scope="module")
def likeness(photos, predictor):
    done = []
    result = evaluate_likeness(predictor, photo_files(photos), progress=done.append)
    assert done == [1, 1, 1, 1]
    return result


def test_photo_files_picks_image_endings_sorted(photos, tmp_path):
    assert [p.name for p in photo_files(photos)] == ["astronaut.png", "blank.png", "mirrored.png", "notes.jpg"]
    with pytest.raises(InputError, match="no photos"):
        photo_files(tmp_path)


def test_photos_without_a_usable_face_are_skipped_and_listed(likeness):
    assert likeness["photos"] == 4
    assert likeness["used"] == 2
    assert likeness["skipped"]["no_face"] == ["blank.png"]
    assert list(likeness["skipped"]["unreadable"]) == ["notes.jpg"]
    assert "not a readable image" in likeness["skipped"]["unreadable"]["notes.jpg"]
    assert likeness["skipped"]["no_face_in_render"] == {name: [] for name in available_adapters()}


def test_every_adapter_and_both_baselines_have_distances(likeness):
    assert list(likeness["adapters"]) == list(available_adapters())
    rows = [*likeness["adapters"].values(), likeness["mean_head"], *likeness["other_reconstruction"].values()]
    for row in rows:
        assert set(row["per_photo"]) == {"astronaut.png", "mirrored.png"}
        values = list(row["per_photo"].values())
        assert all(np.isfinite(v) and 0.0 <= v <= 2.0 for v in values)
        assert row["photos"] == 2
        assert row["mean_distance"] == pytest.approx(np.mean(values))
        assert row["median_distance"] == pytest.approx(np.median(values))
    for row in likeness["other_reconstruction"].values():
        assert row["paired_with"] == {"astronaut.png": "mirrored.png", "mirrored.png": "astronaut.png"}
    # A reconstruction differs from the neutral head, so its distance to the photo does too.
    assert likeness["adapters"]["identity"]["per_photo"]["astronaut.png"] != pytest.approx(
        likeness["mean_head"]["per_photo"]["astronaut.png"], abs=1e-6)


def test_distance_matches_the_chain_run_by_hand(likeness, photos, predictor):
    # predict_photo + render + detect, composed here rather than by evaluate_likeness.
    image = load_image(photos / "astronaut.png")
    prediction, face = predict_photo(predictor, image, adapter="photometric")
    render = RGBImage(pixels=render_recipe(prediction.recipe, Renderer(256)), source="render")
    expected = cosine_distance(identity_descriptor(image, face.detection),
                               identity_descriptor(render, detect_faces(render)[0]))
    assert likeness["adapters"]["photometric"]["per_photo"]["astronaut.png"] == pytest.approx(expected, abs=1e-9)


def test_report_with_only_the_likeness_section(likeness, tmp_path):
    write_report({"likeness": likeness}, tmp_path)
    report = (tmp_path / "report.md").read_text()
    assert TABLE in report
    assert "| baseline: mean head (default recipe) | 2 |" in report
    for name in available_adapters():
        assert f"| adapter {name}: own reconstruction | 2 |" in report
        assert f"| baseline: another photo's reconstruction ({name}) | 2 |" in report
    assert "skipped blank.png: no face found" in report
    assert "notes.jpg: not a readable image" in report
    assert "## Goals" not in report
    assert "Per region" not in report
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["goals"] == {}
    assert saved["likeness"]["mean_head"]["mean_distance"] == pytest.approx(likeness["mean_head"]["mean_distance"])
    assert (tmp_path / "likeness.png").stat().st_size > 0
    assert not (tmp_path / "l1_by_region.png").exists()


def test_cli_evaluates_photos(photos, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["evaluate", "--photos", str(photos), "--out", str(out)]) == 0
    assert "likeness on 2/4 photos" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"likeness", "goals"}
    assert TABLE in (out / "report.md").read_text()


def test_cli_evaluates_synthetic_data_and_photos_together(photos, tmp_path):
    pytest.importorskip("torch")  # reading a synthetic dataset goes through the training data code
    from f2p_engine.synth.dataset import GenerateSettings, generate

    generate(tmp_path / "heldout", 2, GenerateSettings(seed=5, shard_size=2), workers=1)
    out = tmp_path / "out"
    assert main(["evaluate", "--data", str(tmp_path / "heldout"), "--photos", str(photos), "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["samples"] == 2
    assert metrics["likeness"]["used"] == 2
    assert len(metrics["goals"]) == 4
    report = (out / "report.md").read_text()
    assert report.index("Per region") < report.index(TABLE) < report.index("## Goals")
    assert {"l1_by_region.png", "likeness.png"} <= {p.name for p in out.iterdir()}


def test_cli_needs_data_or_photos(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "give --data DIR, --photos DIR or both" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_folder_without_photos_in_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", "--photos", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no photos" in err
    assert not (tmp_path / "out").exists()
