"""Likeness on real photos (paper Table 4): `evaluate_likeness`, its report section and `f2p evaluate --photos`.

Real components throughout: the shipped models, the renderer on EGL, dlib and FaceNet. Photos: the
astronaut, its mirror image (a second "person"), a grey picture without a face and a text file named .jpg.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from skimage.data import astronaut

from f2p_engine.adapt import available_adapters
from f2p_engine.cli import main
from f2p_engine.errors import InputError
from f2p_engine.evaluate.judges import create_judge
from f2p_engine.evaluate.labels import (
    HAIR_LENGTHS,
    HAIR_TONES,
    DetectedFace,
    FaceLabel,
    PredictedAttributes,
    attribute_agreement,
    match_labels,
    read_face_labels,
)
from f2p_engine.evaluate.likeness import contact_sheet, evaluate_likeness, photo_files, shows
from f2p_engine.evaluate.report import write_report
from f2p_engine.face.detect import detect_faces
from f2p_engine.face.image import RGBImage, load_image, write_png
from f2p_engine.headmodel import schema
from f2p_engine.infer.pipeline import Predictor, predict_photo
from f2p_engine.recipe import Recipe
from f2p_engine.render.recipe_view import render_recipe_face
from f2p_engine.render.renderer import Renderer

TABLE = "## Likeness on real photos (paper Table 4)"
VARIANTS = ["identity", "shipped"]
LABELS = [FaceLabel(file="astronaut.png", centre=None, values={"gender": "female"}),
          FaceLabel(file="mirrored.png", centre=None, values={"gender": "female", "age": "15-39"})]


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
def report(photos, predictor):
    done = []
    result = evaluate_likeness(predictor, photo_files(photos), variants=VARIANTS, labels=LABELS,
                               progress=done.append)
    assert done == [1, 1, 1, 1]
    return result


@pytest.fixture(scope="module")
def likeness(report):
    return report.to_json()  # as metrics.json holds it


def test_photo_files_picks_image_endings_sorted(photos, tmp_path):
    assert [p.name for p in photo_files(photos)] == ["astronaut.png", "blank.png", "mirrored.png", "notes.jpg"]
    assert [p.name for p in photo_files(photos, limit=2)] == ["astronaut.png", "blank.png"]
    with pytest.raises(InputError, match="no photos"):
        photo_files(tmp_path)


def test_photos_without_a_usable_face_are_skipped_and_listed(likeness):
    assert likeness["photos"] == 4
    assert likeness["people"] == 2
    assert likeness["skipped"]["no_face"] == ["blank.png"]
    assert list(likeness["skipped"]["unreadable"]) == ["notes.jpg"]
    assert "not a readable image" in likeness["skipped"]["unreadable"]["notes.jpg"]


def test_every_adapter_variant_and_judge_has_metrics(likeness):
    assert list(likeness["results"]) == list(available_adapters())
    for variants in likeness["results"].values():
        assert list(variants) == VARIANTS
        for row in variants.values():
            assert set(row["per_face"]) == {"astronaut.png", "mirrored.png"}
            for judge in ("dlib", "facenet"):
                metrics = row[judge]
                assert metrics["people"] == metrics["renders"] == 2
                distances = [face["distance"][judge] for face in row["per_face"].values()]
                assert metrics["mean_distance"] == pytest.approx(np.mean(distances))
                assert 0.0 <= metrics["mean_rank_percentile"] <= 1.0
                assert 0.0 <= metrics["closer_than_default"] <= 1.0
            assert row["attributes"]["labelled"] == 2
    # The identity member alone and the shipped blend are different heads.
    photometric = likeness["results"]["photometric"]
    assert photometric["identity"]["per_face"]["astronaut.png"]["distance"]["facenet"] != pytest.approx(
        photometric["shipped"]["per_face"]["astronaut.png"]["distance"]["facenet"], abs=1e-6)


def test_the_shipped_variant_takes_gender_and_age_from_the_macro_member(likeness, report):
    astronaut_face = next(face for face in report.faces if face.key == "astronaut.png")
    shipped = likeness["results"]["photometric"]["shipped"]["per_face"]["astronaut.png"]
    assert shipped["gender"] == pytest.approx(astronaut_face.reading.attributes.gender_value, abs=1e-6)
    assert shipped["age"] == pytest.approx(astronaut_face.reading.attributes.age_value, abs=1e-6)
    # The labels say female: the macro member reads her so, decisively.
    agreement = likeness["results"]["photometric"]["shipped"]["attributes"]["overall"]
    assert agreement["gender"]["right"] == 1.0
    assert agreement["decisive gender"]["right"] == 1.0


def test_contact_sheet_shows_photo_beside_render(report):
    sheet = contact_sheet(report, "photometric", "shipped", columns=2)
    assert sheet.shape == (128 + 14, 2 * 2 * 128, 3)
    photo, render = sheet[14:, :128], sheet[14:, 128:256]
    assert np.abs(photo.astype(int) - report.faces[0].thumbnail).max() == 0
    assert not np.array_equal(photo, render)
    with pytest.raises(InputError, match="no likeness result"):
        contact_sheet(report, "photometric", "cnn")


def test_distance_matches_the_chain_run_by_hand(likeness, photos, predictor):
    # predict_photo + render + FaceNet, composed here rather than by evaluate_likeness.
    image = load_image(photos / "astronaut.png")
    prediction, _ = predict_photo(predictor, image, adapter="photometric")
    pixels, landmarks = render_recipe_face(prediction.recipe, Renderer(256))
    judge = create_judge("facenet")
    photo = judge.embed(image, detect_faces(image)[0].landmarks)
    render = judge.embed(RGBImage(pixels=pixels, source="render"), landmarks)
    row = likeness["results"]["photometric"]["shipped"]
    assert row["per_face"]["astronaut.png"]["distance"]["facenet"] == pytest.approx(1.0 - photo @ render, abs=1e-6)
    assert row["per_face"]["astronaut.png"]["gender"] == pytest.approx(prediction.recipe.value("macrodetails/Gender"))


def _label(file, gender, centre=None):
    return FaceLabel(file=file, centre=centre, values={} if gender is None else {"gender": gender})


def _shows(gender, age=0.5, skin="light", eyes="dark", hair="short", beard="no"):
    return PredictedAttributes(gender=gender, age=age, skin=skin, eyes=eyes, hair=hair, beard=beard, hair_colour="dark")


def test_attribute_agreement_per_check_and_group():
    predicted = {"a.jpg": _shows(0.1, age=0.1), "b.jpg#0": _shows(0.7, skin="dark"), "b.jpg#1": _shows(0.4),
                 "c.jpg": _shows(0.9, age=0.95, eyes="light"), "d.jpg": _shows(0.3)}
    labels = {"a.jpg": FaceLabel(file="a.jpg", centre=None, values={"gender": "female", "age": "child"}),
              "b.jpg#0": FaceLabel(file="b.jpg", centre=(1, 1), values={"gender": "male", "skin": "dark"}),
              "b.jpg#1": FaceLabel(file="b.jpg", centre=(9, 9), values={"gender": "male", "skin": "dark"}),
              "c.jpg": FaceLabel(file="c.jpg", centre=None, values={"age": "60+", "eyes": "dark"})}
    agreement = attribute_agreement(predicted, labels).to_json()
    assert agreement["labelled"] == 4
    overall = agreement["overall"]
    assert overall["gender"] == {"faces": 3, "right": pytest.approx(2 / 3), "wrong": ["b.jpg#1"]}
    # |Gender - 0.5| >= 0.3: a.jpg (0.1) only; b.jpg#0 (0.7) and b.jpg#1 (0.4) are not decisive.
    assert overall["decisive gender"]["wrong"] == ["b.jpg#0", "b.jpg#1"]
    # Age 0.1 is ~6 years (a child, and below 0.19); 0.95 is ~83 years (60+).
    assert overall["age bracket"] == {"faces": 2, "right": 1.0, "wrong": []}
    assert overall["child age"] == {"faces": 1, "right": 1.0, "wrong": []}
    assert overall["skin tone"] == {"faces": 2, "right": 0.5, "wrong": ["b.jpg#1"]}
    assert overall["eye colour"] == {"faces": 1, "right": 0.0, "wrong": ["c.jpg"]}
    groups = agreement["groups"]
    assert groups["men"]["gender"] == {"faces": 2, "right": 0.5, "wrong": ["b.jpg#1"]}
    assert groups["dark skin"]["skin tone"]["faces"] == 2
    assert groups["light skin"]["gender"] == {"faces": 0, "right": None, "wrong": []}


def test_hair_length_and_beard_checks():
    predicted = {"a.jpg": shows(Recipe().with_choice("hair", "bob02").with_choice("beard", "stubble")),
                 "b.jpg": shows(Recipe().with_choice("hair", "ponytail01")),
                 "c.jpg": shows(Recipe())}
    assert (predicted["a.jpg"].hair, predicted["a.jpg"].beard) == ("medium", "yes")
    assert (predicted["c.jpg"].hair, predicted["c.jpg"].beard) == ("none", "no")
    labels = {"a.jpg": FaceLabel(file="a.jpg", centre=None, values={"hair": "medium", "beard": "no"}),
              "b.jpg": FaceLabel(file="b.jpg", centre=None, values={"hair": "short", "beard": "no"}),
              "c.jpg": FaceLabel(file="c.jpg", centre=None, values={"hair": "none"})}
    overall = attribute_agreement(predicted, labels).to_json()["overall"]
    assert overall["hair length"] == {"faces": 3, "right": pytest.approx(2 / 3), "wrong": ["b.jpg"]}
    assert overall["beard"] == {"faces": 2, "right": 0.5, "wrong": ["a.jpg"]}


def test_every_hair_option_has_a_length():
    assert set(HAIR_LENGTHS) == set(schema.discrete_by_name()["hair"].options)


def test_hair_colour_check_by_class():
    predicted = {"a.jpg": shows(Recipe().with_choice("hair_colour", "blonde")),
                 "b.jpg": shows(Recipe().with_choice("hair_colour", "dark_brown")),
                 "c.jpg": shows(Recipe().with_choice("hair_colour", "white"))}
    assert [p.hair_colour for p in predicted.values()] == ["light", "dark", "grey"]
    labels = {"a.jpg": FaceLabel(file="a.jpg", centre=None, values={"hair_colour": "light"}),
              "b.jpg": FaceLabel(file="b.jpg", centre=None, values={"hair_colour": "light"}),
              "c.jpg": FaceLabel(file="c.jpg", centre=None, values={"gender": "female"})}
    overall = attribute_agreement(predicted, labels).to_json()["overall"]
    assert overall["hair colour"] == {"faces": 2, "right": 0.5, "wrong": ["b.jpg"]}
    assert set(HAIR_TONES) == set(schema.HAIR_COLOURS)


def test_labels_match_the_nearest_face_of_their_photo():
    faces = [DetectedFace(key="g.jpg#0", file="g.jpg", centre=(500.0, 300.0), width=200.0),
             DetectedFace(key="g.jpg#1", file="g.jpg", centre=(100.0, 320.0), width=150.0),
             DetectedFace(key="s.jpg", file="s.jpg", centre=(80.0, 90.0), width=100.0)]
    left, far, single, absent = (_label("g.jpg", "male", (120.0, 300.0)), _label("g.jpg", "female", (900.0, 900.0)),
                                 _label("s.jpg", "female"), _label("x.jpg", "female"))
    assert match_labels(faces, [left, far, single, absent]) == {"g.jpg#1": left, "s.jpg": single}
    assert match_labels(faces, [_label("g.jpg", "male")]) == {"g.jpg#0": _label("g.jpg", "male")}


def test_read_face_labels(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("# comment\nfile,x,y,gender,age,skin,eyes,beard,hair\n"
                    "celeba/x.jpg,,,female,15-39,dark,unsure,no,long\ny.jpg,10,20.5,male,60+,,light,yes,none\n")
    assert read_face_labels(path) == [
        FaceLabel(file="x.jpg", centre=None,
                  values={"gender": "female", "age": "15-39", "skin": "dark", "beard": "no", "hair": "long"}),
        FaceLabel(file="y.jpg", centre=(10.0, 20.5),
                  values={"gender": "male", "age": "60+", "eyes": "light", "beard": "yes", "hair": "none"})]
    path.write_text("file,gender\nx.jpg,unknown\n")
    with pytest.raises(InputError, match="gender must be one of female, male, unsure"):
        read_face_labels(path)
    path.write_text("file,x,gender\nx.jpg,3,male\n")
    with pytest.raises(InputError, match="both x and y"):
        read_face_labels(path)


def test_the_shipped_label_file_reads():
    labels = read_face_labels(Path(__file__).parents[1] / "scripts" / "face_labels.csv")
    assert len(labels) == 223
    assert sum(label.centre is not None for label in labels) == 23
    assert {label.values.get("gender") for label in labels} == {"female", "male", None}


def test_report_with_only_the_likeness_section(likeness, tmp_path):
    write_report({"likeness": likeness}, tmp_path)
    report = (tmp_path / "report.md").read_text()
    assert TABLE in report
    for judge in ("dlib", "facenet"):
        assert f"### Judge: {judge}" in report
    for name in available_adapters():
        assert f"| {name} | shipped |" in report
    assert "### Agreement with the hand labels" in report
    assert "| photometric | shipped | women |" in report
    assert "skipped blank.png: no face found" in report
    assert "notes.jpg: not a readable image" in report
    assert "## Goals" not in report
    assert "Per region" not in report
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["goals"] == {}
    assert saved["likeness"]["people"] == 2
    assert (tmp_path / "likeness.png").stat().st_size > 0
    assert not (tmp_path / "l1_by_region.png").exists()


def test_cli_evaluates_photos(photos, tmp_path, capsys):
    out = tmp_path / "out"
    labels = tmp_path / "labels.csv"
    labels.write_text("file,gender\nastronaut.png,female\n")
    assert main(["evaluate", "--photos", str(photos), "--variants", "shipped", "--adapters", "none",
                 "--labels", str(labels), "--out", str(out)]) == 0
    assert "likeness on 2 faces of 4 photos" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"likeness", "goals"}
    assert list(metrics["likeness"]["results"]) == ["none"]
    assert metrics["likeness"]["results"]["none"]["shipped"]["attributes"]["labelled"] == 1
    assert metrics["likeness"]["contact_sheet"] == {"file": "contact_sheet.png", "adapter": "none",
                                                    "variant": "shipped"}
    assert "![photo | render](contact_sheet.png)" in (out / "report.md").read_text()
    assert load_image(out / "contact_sheet.png").pixels.shape == (142, 1024, 3)  # one row of 2 faces of 4 columns


def test_cli_evaluates_synthetic_data_and_photos_together(photos, tmp_path):
    pytest.importorskip("torch")  # reading a synthetic dataset goes through the training data code
    from f2p_engine.synth.dataset import GenerateSettings, generate

    generate(tmp_path / "heldout", 2, GenerateSettings(seed=5, shard_size=2), workers=1)
    out = tmp_path / "out"
    assert main(["evaluate", "--data", str(tmp_path / "heldout"), "--photos", str(photos), "--max-photos", "2",
                 "--variants", "shipped", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["samples"] == 2
    assert metrics["likeness"]["people"] == 1  # astronaut.png and blank.png
    assert len(metrics["goals"]) == 4
    report = (out / "report.md").read_text()
    assert report.index("Per region") < report.index(TABLE) < report.index("## Goals")
    assert {"l1_by_region.png", "likeness.png"} <= {p.name for p in out.iterdir()}


def test_cli_needs_data_or_photos(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "give --data DIR, --photos DIR, --fusion N or several" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_folder_without_photos_in_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", "--photos", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no photos" in err
    assert not (tmp_path / "out").exists()
