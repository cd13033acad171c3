"""Issue 21, batch identity: different photos never share an output, a rerun resumes by content
(photo size + sha256, models), and a batch never replaces a file f2p did not write for that photo,
or one changed since, without --overwrite. The report is validated on read; its torn line is cut.

Real predictions with the shipped models on the bundled sample (and its mirror image: another photo).
"""

import json
import os

import numpy as np
import pytest
from face_samples import two_faces

from f2p_engine.cli import main
from f2p_engine.face.image import load_image, write_png
from f2p_engine.files import resources_dir
from f2p_engine.infer.batch import REPORT_NAME, output_stems, parse_record, read_report

SAMPLE = resources_dir() / "samples" / "synthetic_face.png"


def _mirrored(path):
    write_png(path, np.ascontiguousarray(load_image(SAMPLE).pixels[:, ::-1]))


def _sources(out):
    """Output recipe name -> the photo its JSON says it was predicted from."""
    return {p.stem: json.loads(p.read_text())["source"] for p in sorted(out.glob("*.json"))}


def _records(out):
    return [json.loads(line) for line in (out / REPORT_NAME).read_text().splitlines()]


def test_a_photo_joining_others_of_its_name_is_predicted_under_its_own_name(tmp_path, capsys):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    (photos / "a.png").write_bytes(SAMPLE.read_bytes())
    _mirrored(photos / "a.bmp")
    assert main(["predict", str(photos), "-o", str(out), "--json"]) == 0
    first = _sources(out)
    assert first == {"a_bmp": str(photos / "a.bmp"), "a_png": str(photos / "a.png")}
    before = {p.name: p.read_bytes() for p in out.glob("a_*")}
    _mirrored(photos / "a.jpg")
    capsys.readouterr()
    assert main(["predict", str(photos), "-o", str(out), "--json"]) == 0
    assert "wrote 1 recipes for 1 photos to" in capsys.readouterr().out  # the new one; 2 already done
    assert _sources(out) == {**first, "a_jpg": str(photos / "a.jpg")}
    assert all((out / name).read_bytes() == data for name, data in before.items())


def test_same_named_photos_of_two_folders_are_both_predicted(tmp_path):
    out = tmp_path / "out"
    for folder, make in (("one", lambda p: p.write_bytes(SAMPLE.read_bytes())), ("two", _mirrored)):
        (tmp_path / folder).mkdir()
        make(tmp_path / folder / "IMG_0001.png")
    assert main(["predict", str(tmp_path / "one"), "-o", str(out), "--json"]) == 0
    assert main(["predict", str(tmp_path / "two"), "-o", str(out), "--json"]) == 0
    assert _sources(out) == {"IMG_0001": str(tmp_path / "one" / "IMG_0001.png"),
                             "IMG_0001_png": str(tmp_path / "two" / "IMG_0001.png")}
    # A rerun of both folders has nothing to do, and the names stay.
    assert main(["predict", str(tmp_path / "one"), str(tmp_path / "two"), "-o", str(out), "--json"]) == 0
    assert len(_records(out)) == 2


def test_all_faces_of_a_group_never_take_a_photo_named_like_a_face(tmp_path, capsys):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    write_png(photos / "team.png", two_faces())
    (photos / "team_face2.png").write_bytes(SAMPLE.read_bytes())
    assert main(["predict", str(photos), "-o", str(out), "--all-faces", "--json"]) == 0
    assert "wrote 3 recipes" in capsys.readouterr().out
    assert sorted(p.name for p in out.glob("*.mhm")) == ["team.mhm", "team_face2.mhm", "team_face2_png.mhm"]
    assert _sources(out)["team_face2_png"] == str(photos / "team_face2.png")
    assert _sources(out)["team_face2"] == str(photos / "team.png")
    for record in _records(out):
        assert all(os.path.isfile(p) for p in record["outputs"])


def test_an_edited_recipe_and_a_file_f2p_did_not_write_are_kept_without_overwrite(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "IMG_0001.png").write_bytes(SAMPLE.read_bytes())
    _mirrored(photos / "IMG_0002.png")
    sidecar = photos / "IMG_0001.json"  # a camera's sidecar beside the photo, -o the photo folder
    sidecar.write_text('{"camera": "mine"}')
    assert main(["predict", str(photos), "-o", str(photos)]) == 0
    edited = photos / "IMG_0002.mhm"
    edited.write_text(edited.read_text() + "modifier head/head-age-decr|incr 0.900000\n")
    mine = edited.read_bytes()
    capsys.readouterr()
    assert main(["predict", str(photos), "-o", str(photos), "--json"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    keep = "; not replaced (give --overwrite to replace it, or another -o folder)"
    assert sorted(err) == [f"f2p predict: error: {photos / 'IMG_0001.png'}: {sidecar}: exists and was not written by "
                           f"f2p{keep}", f"f2p predict: error: {photos / 'IMG_0002.png'}: {edited}: was changed "
                           f"since f2p wrote it{keep}"]
    assert edited.read_bytes() == mine
    assert json.loads(sidecar.read_text()) == {"camera": "mine"}
    assert main(["predict", str(photos), "-o", str(photos), "--json", "--overwrite"]) == 0
    assert edited.read_bytes() != mine
    assert json.loads(sidecar.read_text())["source"] == str(photos / "IMG_0001.png")


def test_a_changed_photo_or_other_models_are_predicted_again(tmp_path):
    photo, out = tmp_path / "face.png", tmp_path / "out"
    photo.write_bytes(SAMPLE.read_bytes())
    other = tmp_path / "other.png"
    other.write_bytes(SAMPLE.read_bytes())
    assert main(["predict", str(photo), str(other), "-o", str(out)]) == 0
    written = (out / "face.mhm").stat().st_ino
    _mirrored(photo)  # the same name, another photo
    assert main(["predict", str(photo), str(other), "-o", str(out)]) == 0
    assert (out / "face.mhm").stat().st_ino != written  # f2p's own, unchanged output: replaced
    assert [r["photo"] for r in _records(out)] == [str(photo), str(other), str(photo)]
    # A report line made by other models (its manifest's sha256 differs): that photo again.
    lines = (out / REPORT_NAME).read_text().splitlines()
    record = json.loads(lines[1])
    (out / REPORT_NAME).write_text("\n".join([*lines, json.dumps({**record, "models": "0" * 64})]) + "\n")
    assert main(["predict", str(photo), str(other), "-o", str(out)]) == 0
    assert [r["photo"] for r in _records(out)][-1] == str(other)


@pytest.mark.parametrize("damage", ['{"photo": "x", "outputs": 5}', "[1, 2]", '{"photo": "x", "outputs": ["a"], '
                                    '"output_sha256": [], "photo_size": 1, "photo_sha256": "", "models": "", '
                                    '"faces_found": 1, "error": null}', "\udcff", "null"])
def test_a_damaged_report_is_not_trusted_and_its_torn_line_is_cut(damage, tmp_path):
    photo, out = tmp_path / "face.png", tmp_path / "out"
    photo.write_bytes(SAMPLE.read_bytes())
    assert main(["predict", str(photo), "-o", str(out) + "/"]) == 0  # `-o out/`: a folder, made
    report = out / REPORT_NAME
    with report.open("ab") as handle:
        handle.write(damage.encode("utf-8", "surrogateescape") + b"\n" + b'{"photo": "torn')
    assert len(read_report(report)) == 1
    assert main(["predict", str(photo), "-o", str(out)]) == 0  # complete: nothing to do, nothing appended
    photo.unlink()
    _mirrored(photo)
    assert main(["predict", str(photo), "-o", str(out)]) == 0
    lines = report.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert b"torn" not in report.read_bytes()
    assert json.loads(lines[-2])["photo"] == str(photo)


def test_a_report_that_is_not_a_file_is_refused_in_one_line(tmp_path, capsys):
    photo, out = tmp_path / "face.png", tmp_path / "out"
    photo.write_bytes(SAMPLE.read_bytes())
    out.mkdir()
    os.mkfifo(out / REPORT_NAME)  # would block a reader for ever
    assert main(["predict", str(photo), "-o", str(out) + "/"]) == 2
    assert capsys.readouterr().err == f"f2p predict: error: {out / REPORT_NAME}: is a FIFO (named pipe), not a file\n"


def test_report_records_are_validated():
    good = {"photo": "p.png", "photo_size": 3, "photo_sha256": "ab", "models": "cd", "outputs": ["p.mhm"],
            "output_sha256": ["ef"], "faces_found": 1, "error": None}
    assert parse_record(good).stem == "p"
    for key, value in [("outputs", 5), ("outputs", ["a", 1]), ("photo_size", -1), ("photo_size", True),
                       ("faces_found", "1"), ("error", 3), ("photo", None), ("output_sha256", ["a", "b"])]:
        assert parse_record({**good, key: value}) is None, key
    assert parse_record({k: v for k, v in good.items() if k != "models"}) is None


def test_output_stems_are_stable_and_distinct(tmp_path):
    a_png, a_jpg, b = tmp_path / "a.png", tmp_path / "A.jpg", tmp_path / "b_face2.png"
    assert output_stems([a_png, b]) == ["a", "b_face2"]
    assert output_stems([a_png, a_jpg]) == ["a_png", "A_jpg"]
    assert output_stems([tmp_path / "b.png", b]) == ["b", "b_face2_png"]
    # A photo keeps the name it had (`a` claimed by its content), another gets the next readable one.
    assert output_stems([a_jpg, a_png], ["j", "p"], {"a": ("moved.png", "p")}) == ["A_jpg", "a"]
    # A name claimed by a photo not in this batch stays its own.
    assert output_stems([a_png], ["p"], {"a": ("b.png", "other")}) == ["a_png"]
    same = [tmp_path / "x" / "a.png", tmp_path / "y" / "a.png", tmp_path / "z" / "a.png"]
    stems = output_stems(same)
    assert len({s.casefold() for s in stems}) == 3
    assert stems == output_stems(same)


def test_a_file_name_that_is_not_utf8_works_end_to_end(tmp_path, capfdbinary):
    name = os.fsdecode(b"caf\xe9")
    photo = tmp_path / f"{name}.png"
    photo.write_bytes(SAMPLE.read_bytes())
    assert main(["predict", str(photo), "-o", f"{tmp_path / 'out'}/", "--json"]) == 0
    recipe = tmp_path / "out" / f"{name}.mhm"
    assert "name caf\ufffd" in recipe.read_text(encoding="utf-8")
    assert json.loads(recipe.with_suffix(".json").read_text())["source"] == str(photo)
    assert main(["predict", str(photo), "-o", str(tmp_path / f"{name}.mhm")]) == 0
    assert b"caf\xe9.mhm" in capfdbinary.readouterr().out


def test_a_report_write_error_names_the_report():
    from pathlib import Path

    from f2p_engine.infer.batch import BatchReport, PhotoResult

    full = Path("/dev/full")  # every write fails with "No space left on device"
    report = BatchReport(full)
    with pytest.raises(OSError, match="No space left on device") as raised:
        report.add(PhotoResult(photo="a.png"))
    assert raised.value.filename == str(full)
    with pytest.raises(OSError, match="No space left on device"):
        report.close()  # the line it could not write: still not written, still named
