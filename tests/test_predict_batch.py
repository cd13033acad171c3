"""`f2p predict` on many photos (folders, globs, resume, --all-faces, workers) and `--fuse`, with the
shipped models on real photos."""

import json
import os
import time

import numpy as np
import pytest
from face_samples import astronaut, two_faces

from f2p_engine.cli import main
from f2p_engine.face.image import RGBImage, load_image, write_png
from f2p_engine.files import resources_dir
from f2p_engine.infer.batch import REPORT_NAME, collect_photos, output_stems
from f2p_engine.infer.fusion import fuse_predictions
from f2p_engine.infer.pipeline import Predictor, predict_photo
from f2p_engine.recipe import continuous_vector, read_recipe

SAMPLE = resources_dir() / "samples" / "synthetic_face.png"


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


@pytest.fixture
def photos(tmp_path):
    """A folder with two faces (the astronaut, the bundled render), a group photo and a text file named .jpg."""
    folder = tmp_path / "photos"
    folder.mkdir()
    write_png(folder / "astronaut.png", astronaut())
    (folder / "render.png").write_bytes(SAMPLE.read_bytes())
    write_png(folder / "group.png", two_faces())
    (folder / "broken.jpg").write_text("not a picture")
    return folder


def _report(folder):
    return [json.loads(line) for line in (folder / REPORT_NAME).read_text().splitlines()]


def test_batch_writes_one_recipe_per_photo_and_reports_the_bad_one(photos, tmp_path, predictor, capsys):
    out = tmp_path / "out"
    assert main(["predict", str(photos), "-o", str(out), "--json"]) == 2
    err = capsys.readouterr()
    assert err.err.strip().splitlines()[-1] == f"f2p predict: error: {photos / 'broken.jpg'}: not a readable " \
                                               "image (unknown format or corrupt file)"
    assert "wrote 3 recipes for 3 photos" in err.out
    assert "1 failed" in err.out
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [REPORT_NAME] + [f"{n}.{e}" for n in ("astronaut", "render", "group") for e in ("mhm", "json")])
    # The batch's recipe equals the single-photo pipeline's (`predict_photo`: its own detect + align path).
    expected, _ = predict_photo(predictor, load_image(photos / "astronaut.png"))
    np.testing.assert_allclose(continuous_vector(read_recipe(out / "astronaut.mhm").recipe),
                               continuous_vector(expected.recipe), atol=1e-6)
    records = {r["photo"]: r for r in _report(out)}
    assert len(records) == 4
    assert records[str(photos / "broken.jpg")]["outputs"] == []
    assert records[str(photos / "group.png")]["faces_found"] == 2
    good = records[str(photos / "astronaut.png")]
    assert good["error"] is None
    assert good["outputs"] == [str(out / "astronaut.mhm"), str(out / "astronaut.json")]
    assert set(good["confidences"][0]) >= {"eyes", "nose", "macro"}
    assert {"detect", "descriptor", "models", "total"} <= set(good["timings_ms"])


def test_rerun_skips_complete_photos_and_redoes_missing_outputs(photos, tmp_path):
    out = tmp_path / "out"
    (photos / "broken.jpg").unlink()
    assert main(["predict", str(photos / "*.png"), "-o", str(out)]) == 0
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mhm")}
    (out / "render.mhm").unlink()
    assert main(["predict", str(photos / "*.png"), "-o", str(out)]) == 0
    again = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mhm")}
    assert again["astronaut.mhm"] == first["astronaut.mhm"]
    assert again["group.mhm"] == first["group.mhm"]
    assert (out / "render.mhm").is_file()
    assert [r["photo"] for r in _report(out)][3:] == [str(photos / "render.png")]  # only the redone photo
    # Asking for JSON now makes every photo incomplete.
    assert main(["predict", str(photos), "-o", str(out), "--json"]) == 0
    assert len(list(out.glob("*.json"))) == 3


def test_all_faces_writes_one_recipe_per_face_and_resumes(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()  # one photo and an existing folder: a batch
    assert main(["predict", str(photos / "group.png"), "-o", str(out)]) == 0  # the largest face only
    assert main(["predict", str(photos / "group.png"), "-o", str(out), "--all-faces"]) == 0
    assert sorted(p.name for p in out.glob("*.mhm")) == ["group.mhm", "group_face2.mhm"]
    assert read_recipe(out / "group_face2.mhm").recipe.name == "group_face2"
    # The two faces are the same person at two sizes, one mirrored: similar recipes, not identical.
    big, small = (continuous_vector(read_recipe(out / n).recipe) for n in ("group.mhm", "group_face2.mhm"))
    assert 0 < np.abs(big - small).mean() < 0.15
    assert main(["predict", str(photos / "group.png"), "-o", str(out), "--all-faces"]) == 0
    assert len(_report(out)) == 2  # the second run added the second face; the third had nothing to do


def test_two_workers_write_the_same_recipes_as_one(photos, tmp_path):
    (photos / "broken.jpg").unlink()
    assert main(["predict", str(photos), "-o", str(tmp_path / "one")]) == 0
    assert main(["predict", str(photos), "-o", str(tmp_path / "two"), "--workers", "2"]) == 0
    for name in ("astronaut.mhm", "render.mhm", "group.mhm"):
        one, two = ((tmp_path / d / name).read_text().splitlines() for d in ("one", "two"))
        assert [line for line in one if not line.startswith("uuid ")] == [x for x in two if not x.startswith("uuid ")]


def test_a_photo_is_never_written_over(tmp_path, capsys):
    photo = tmp_path / "face.mhm"  # a PNG whose name is the recipe name the batch would write
    write_png(photo, astronaut())
    before = photo.read_bytes()
    assert main(["predict", str(photo), "-o", str(tmp_path)]) == 2
    assert "is also the input" in capsys.readouterr().err
    assert photo.read_bytes() == before


@pytest.mark.parametrize("arguments", [["{empty}"], ["{empty}/*.jpg"], ["{photos}", "-o", "{out}/x.mhm"],
                                       ["{photos}", "--json", "{out}/x.json"]])
def test_bad_batch_input_is_one_line_and_exit_2(arguments, photos, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    values = {"empty": tmp_path / "empty", "photos": photos, "out": tmp_path / "out"}
    argv = ["predict", *[a.format(**values) for a in arguments]]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("f2p predict: error:")
    assert not (tmp_path / "out").exists()


def test_collect_photos_and_output_names(photos, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    write_png(other / "astronaut.jpg", astronaut())
    found = collect_photos([photos, str(photos / "a*.png"), other / "astronaut.jpg"])
    assert [p.name for p in found] == ["astronaut.png", "broken.jpg", "group.png", "render.png", "astronaut.jpg"]
    assert output_stems(found) == ["astronaut_png", "broken", "group", "render", "astronaut_jpg"]


def test_fuse_combines_photos_of_one_person_and_reports_disagreement(photos, tmp_path, predictor, capsys):
    mirrored = tmp_path / "mirrored.png"
    write_png(mirrored, np.ascontiguousarray(astronaut()[:, ::-1]))
    darker = tmp_path / "darker.png"
    write_png(darker, (astronaut() * 0.7).astype(np.uint8))
    sources = [photos / "astronaut.png", mirrored, darker]
    out = tmp_path / "person.mhm"
    assert main(["predict", "--fuse", *map(str, sources), "-o", str(out), "--json"]) == 0
    assert "fused 3 photos; disagreement per region" in capsys.readouterr().out
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["source"] == [str(p) for p in sources]
    assert set(record["disagreement"]) >= {"eyes", "nose", "mouth"}
    assert all(0 <= d < 0.2 for d in record["disagreement"].values())
    assert any(d > 0 for d in record["disagreement"].values())
    singles = [predict_photo(predictor, RGBImage(pixels=load_image(p).pixels, source=str(p)))[0] for p in sources]
    fused = fuse_predictions(singles)
    np.testing.assert_allclose(continuous_vector(read_recipe(out).recipe), continuous_vector(fused.prediction.recipe),
                               atol=1e-6)
    assert read_recipe(out).recipe.name == "person"


def test_fuse_refuses_a_bad_photo_and_writes_nothing(photos, tmp_path, capsys):
    out = tmp_path / "person.mhm"
    assert main(["predict", "--fuse", str(photos / "astronaut.png"), str(photos / "broken.jpg"), "-o", str(out)]) == 2
    assert "broken.jpg" in capsys.readouterr().err
    assert not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_hung_workers_are_stopped_and_the_batch_ends_in_one_error(photos, tmp_path):
    """No result within the hang limit (here shorter than a worker's start-up) stops the workers."""
    from f2p_engine.errors import F2PError
    from f2p_engine.infer.batch import BatchSettings, PhotoJob, run_batch

    settings = BatchSettings(output=tmp_path / "out")
    jobs = [PhotoJob(photo=photos / "astronaut.png", stem="astronaut")]
    began = time.perf_counter()
    with pytest.raises(F2PError, match=r"no photo finished in 0\.01 s"):
        list(run_batch(jobs, settings, workers=2, hang_seconds=0.01))
    assert time.perf_counter() - began < 10
    assert not (tmp_path / "out").exists()


def test_json_name_that_is_not_json_is_refused_before_a_photo_is_overwritten(tmp_path, capsys):
    sample = resources_dir() / "samples" / "synthetic_face.png"
    photo, other = tmp_path / "a.png", tmp_path / "b.png"
    photo.write_bytes(sample.read_bytes())
    other.write_bytes(sample.read_bytes())
    assert main(["predict", "--json", str(photo), str(other), "-o", str(tmp_path / "b.mhm")]) == 2
    assert photo.read_bytes() == sample.read_bytes()
    assert capsys.readouterr().err.strip().endswith("--json writes a .json file (give OUT.json, or --json after "
                                                    "the photos)")
