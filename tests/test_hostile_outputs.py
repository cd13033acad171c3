"""Issue 12, outputs: no command overwrites its input, half-writes an output or names a temporary file.

Each case is a reproducer from the issue: exit 2, one line naming the user's file, no traceback, no
partial or overwritten file. Real commands, real models, real file systems (tmpfs when root).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mounts import full_folder, leftovers, read_only_folder

from f2p_engine.cli import main
from f2p_engine.files import resources_dir

SAMPLES = resources_dir() / "samples"


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "P.png"
    shutil.copy(SAMPLES / "synthetic_face.png", path)
    return path


@pytest.fixture
def recipe(tmp_path) -> Path:
    path = tmp_path / "in.mhm"
    shutil.copy(SAMPLES / "synthetic_face.mhm", path)
    return path


def _one_error_line(capsys, *names: object) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "error" in err[0]
    assert ".part" not in err[0]  # the user's path, never the temporary
    for name in names:
        assert str(name) in err[0]
    return err[0]


def test_predict_refuses_to_overwrite_its_photo(photo, capsys):
    before = photo.read_bytes()
    assert main(["predict", str(photo), "-o", str(photo)]) == 2
    _one_error_line(capsys, photo, "input")
    assert photo.read_bytes() == before


def test_predict_refuses_one_name_for_both_outputs(photo, tmp_path, capsys):
    both = tmp_path / "X"
    assert main(["predict", str(photo), "-o", str(both), "--json", str(both)]) == 2
    _one_error_line(capsys, both, "two outputs")
    assert not both.exists()


def test_predict_writes_neither_file_when_the_json_folder_is_read_only(photo, tmp_path, capsys):
    with read_only_folder(tmp_path / "ro") as locked:
        assert main(["predict", str(photo), "-o", str(tmp_path / "a.mhm"), "--json", str(locked / "a.json")]) == 2
        _one_error_line(capsys, locked / "a.json")
        assert leftovers(locked) == []
    assert leftovers(tmp_path) == ["P.png", "ro"]


def test_predict_writes_both_files_together(photo, tmp_path, capsys):
    assert main(["predict", str(photo), "-o", str(tmp_path / "a.mhm"), "--json", str(tmp_path / "a.json")]) == 0
    assert leftovers(tmp_path) == ["P.png", "a.json", "a.mhm"]
    assert capsys.readouterr().out.strip() == f"f2p predict: wrote {tmp_path / 'a.mhm'}, {tmp_path / 'a.json'}"


@pytest.mark.parametrize("command", ["mesh", "render", "predict", "predict+json", "sample", "align"])
def test_a_full_disk_names_the_users_file_and_leaves_nothing(command, photo, recipe, tmp_path, capsys):
    with full_folder(tmp_path / "full", kilobytes=16) as full:
        argv = {
            "mesh": ["mesh", str(recipe), "-o", str(full / "head.obj")],
            "render": ["render", str(recipe), "-o", str(full / "head.png")],
            "predict": ["predict", str(photo), "-o", str(full / "face.mhm")],
            "predict+json": ["predict", str(photo), "-o", str(tmp_path / "face.mhm"), "--json", str(full / "f.json")],
            "sample": ["sample", "--count", "40", "-o", str(full / "recipes")],
            "align": ["align", str(photo), "-o", str(full / "aligned")],
        }[command]
        if command.startswith("predict"):  # an .mhm or its JSON is small: fill the disk first
            (full / "filler").write_bytes(b"\0" * 15 * 1024)
        before = leftovers(full)
        assert main(argv) == 2
        line = _one_error_line(capsys, "No space left on device")
        assert str(full) in line
        assert leftovers(full) == before
    assert not (tmp_path / "face.mhm").exists()


def test_an_output_that_is_a_folder_is_named_as_given(recipe, tmp_path, capsys):
    folder = tmp_path / "out.obj"
    folder.mkdir()
    assert main(["mesh", str(recipe), "-o", str(folder)]) == 2
    _one_error_line(capsys, folder, "folder")
    assert leftovers(folder) == []


@pytest.mark.parametrize("command", ["mesh", "render"])
def test_recipe_commands_refuse_to_overwrite_their_recipe(command, tmp_path, capsys):
    recipe = tmp_path / ("head.obj" if command == "mesh" else "head.png")  # a recipe may have any name
    shutil.copy(SAMPLES / "synthetic_face.mhm", recipe)
    before = recipe.read_bytes()
    assert main([command, str(recipe), "-o", str(recipe)]) == 2
    _one_error_line(capsys, recipe)
    assert recipe.read_bytes() == before


def test_align_refuses_to_replace_its_photo(photo, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    inside = out / "aligned.png"
    shutil.copy(photo, inside)
    before = inside.read_bytes()
    assert main(["align", str(inside), "-o", str(out)]) == 2
    _one_error_line(capsys, inside)
    assert inside.read_bytes() == before
    assert leftovers(out) == ["aligned.png"]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_real_process_read_only_output_is_one_line(recipe, tmp_path):
    with read_only_folder(tmp_path / "ro") as locked:
        result = subprocess.run([sys.executable, "-m", "f2p_engine", "mesh", str(recipe), "-o",
                                 str(locked / "head.obj")], capture_output=True, text=True, timeout=120)
        assert result.returncode == 2
        reason = "Read-only file system" if locked.is_mount() else "Permission denied"
        assert result.stderr.strip().splitlines() == [f"f2p mesh: error: {locked / 'head.obj'}: {reason}"]
        assert leftovers(locked) == []
