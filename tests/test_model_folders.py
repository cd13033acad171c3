"""A model folder (`--models`) is a user's input: every broken one ends in exit 2 and one line naming
the file (issue 12's reproducers), checked against a copy of the shipped models."""

import json
import math
import shutil

import pytest
from hostile_json import JSON
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from f2p_engine.cli import main
from f2p_engine.errors import AssetError
from f2p_engine.files import resources_dir, sha256_file
from f2p_engine.infer.manifest import CHECKSUM, MANIFEST, load_manifest, models_dir, seal_manifest

PHOTO = resources_dir() / "samples" / "synthetic_face.png"


@pytest.fixture
def models(tmp_path):
    """A copy of the shipped model folder (ONNX files linked, manifest and checksum copied)."""
    folder = tmp_path / "models"
    folder.mkdir()
    for file in models_dir().glob("*.onnx"):
        (folder / file.name).symlink_to(file)
    for name in (MANIFEST, CHECKSUM):
        shutil.copy(models_dir() / name, folder / name)
    return folder


def _document(folder):
    return json.loads((folder / MANIFEST).read_text())


def _write(folder, document, *, seal=True):
    """Write the manifest as a determined user would, checksum updated too unless `seal` is False."""
    (folder / MANIFEST).write_text(document if isinstance(document, str) else json.dumps(document))
    if seal:
        seal_manifest(folder)


def _predict_fails(folder, tmp_path, capsys, names):
    """`f2p predict --models folder` exits 2 with one line naming `names`; no output file."""
    out = tmp_path / "face.mhm"
    assert main(["predict", str(PHOTO), "-o", str(out), "--models", str(folder)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("f2p predict: error: ")
    assert str(names) in lines[0]
    assert not out.exists()
    return lines[0]


def test_the_copy_predicts(models, tmp_path):
    assert main(["predict", str(PHOTO), "-o", str(tmp_path / "face.mhm"), "--models", str(models)]) == 0


def _edit_nan_weight(d):
    d["ensemble"]["continuous"]["nose/nose-trans-down|up"][0] = math.nan


def _edit_std_zero(d):
    d["models"][0]["preprocessing"]["std"] = [0.5, 0.0, 0.5]


def _edit_string_weight(d):
    d["ensemble"]["continuous"]["macrodetails/Gender"] = ["0.8", "0", "0.2"]


def _edit_baseline_zero(d):
    d["calibration"]["baseline_l1"]["nose"] = 0


def _edit_calibration_list(d):
    d["calibration"] = [1, 2]


def _edit_groups(d):
    d["models"][1]["groups"] = [["eye_colour", 5]]


def _edit_skin_count(d):
    d["models"][0]["groups"][0] = ["skin", 12]  # neither today's 18 skins nor the earlier 6


def _edit_absolute_file(d):
    d["models"][2]["file"] = "/etc/passwd"


def _edit_parent_file(d):
    d["models"][2]["file"] = "../models/eyebrows.onnx"


def _edit_member_count(d):
    d["ensemble"]["discrete"]["skin"] = [1.0]


def _edit_shift_range(d):
    d["ensemble"]["photo_shift"]["nose"] = 7


def _edit_spread_shrinks(d):
    d["ensemble"]["photo_spread"] = {"nose/nose-hump-decr|incr": [0.5, 0.5, 0.5]}  # a scale below 1 narrows


def _edit_spread_unknown_param(d):
    d["ensemble"]["photo_spread"] = {"nose/nose-bogus": [0.5, 1.5, 0.5]}


def _edit_long_file_name(d):
    d["models"][2]["file"] = "[" * 5000


def _edit_huge_integer(d):
    d["calibration"]["baseline_l1"]["nose"] = 10**400  # beyond float: no OverflowError either


@pytest.mark.parametrize("edit", [_edit_nan_weight, _edit_std_zero, _edit_string_weight, _edit_baseline_zero,
                                  _edit_calibration_list, _edit_groups, _edit_skin_count, _edit_absolute_file,
                                  _edit_parent_file, _edit_member_count, _edit_shift_range, _edit_huge_integer,
                                  _edit_spread_shrinks, _edit_spread_unknown_param,
                                  _edit_long_file_name])
def test_malformed_values_are_refused(models, tmp_path, capsys, edit):
    document = _document(models)
    edit(document)
    _write(models, document)
    line = _predict_fails(models, tmp_path, capsys, models / MANIFEST)
    assert "malformed model manifest" in line


@pytest.mark.parametrize("document", ["[]", '"models"', "{", "[" * 5000 + "]" * 5000, "null"])
def test_a_manifest_that_is_no_object_is_refused(models, tmp_path, capsys, document):
    _write(models, document)
    _predict_fails(models, tmp_path, capsys, models / MANIFEST)


def test_a_manifest_edited_without_its_checksum_is_refused(models, tmp_path, capsys):
    document = _document(models)
    document["ensemble"]["photo_shift"]["nose"] = 0.5
    _write(models, document, seal=False)
    assert "does not match its checksum" in _predict_fails(models, tmp_path, capsys, models / MANIFEST)
    (models / CHECKSUM).unlink()
    assert "cannot be verified" in _predict_fails(models, tmp_path, capsys, models / CHECKSUM)


def test_params_cut_short_are_caught_by_the_model_itself(models, tmp_path, capsys):
    document = _document(models)
    document["models"][0]["params"] = document["models"][0]["params"][:50]
    _write(models, document)
    line = _predict_fails(models, tmp_path, capsys, models / "aggregate.onnx")
    assert "do not match" in line


def test_a_corrupt_model_whose_hash_was_updated_is_refused(models, tmp_path, capsys):
    onnx = models / "nose.onnx"
    data = bytearray(onnx.read_bytes())
    onnx.unlink()
    onnx.write_bytes(bytes(data[: len(data) // 2]))
    document = _document(models)
    next(m for m in document["models"] if m["name"] == "nose")["sha256"] = sha256_file(onnx)
    _write(models, document)
    assert "not a loadable ONNX model" in _predict_fails(models, tmp_path, capsys, onnx)


def test_a_model_swapped_for_another_is_refused(models, tmp_path, capsys):
    # The eyes entry pointing at the nose model (hash updated): the output sizes give it away.
    document = _document(models)
    eyes = next(m for m in document["models"] if m["name"] == "eyes")
    eyes["file"], eyes["sha256"] = "nose.onnx", sha256_file(models / "nose.onnx")
    _write(models, document)
    _predict_fails(models, tmp_path, capsys, models / "nose.onnx")


# -- property: whatever JSON replaces a part of the manifest, loading ends in the model or an AssetError


def _paths(value, prefix=()):
    """Every path into a JSON document (keys and list indices)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            yield from _paths(item, (*prefix, index))


SHIPPED = json.loads((models_dir() / MANIFEST).read_text())
PATHS = list(_paths(SHIPPED))


@seed(12)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(PATHS), value=JSON, delete=st.booleans())
def test_any_replaced_part_ends_in_a_manifest_or_an_asset_error(models, where, value, delete):
    document = json.loads(json.dumps(SHIPPED))
    if not where:
        document = value
    else:
        parent = document
        for key in where[:-1]:
            parent = parent[key]
        if delete:
            del parent[where[-1]]
        else:
            parent[where[-1]] = value
    _write(models, document)
    problem = _load_problem(models)
    assert problem is None or ("\n" not in problem and str(models) in problem)


def _load_problem(folder):
    """None if the manifest loads, else the AssetError's message."""
    try:
        load_manifest(folder)
    except AssetError as exc:
        return str(exc)
    return None
