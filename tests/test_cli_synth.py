"""`f2p render`, `f2p generate`, `f2p contact-sheet`: outputs, exit codes, one-line errors."""

import json

import cv2
import numpy as np
import pytest

from f2p_engine.cli import main
from f2p_engine.recipe import Recipe, write_mhm


@pytest.fixture(scope="module")
def recipe_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("recipes") / "face.mhm"
    recipe = Recipe(name="face").with_choice("skin", "young_african_male").with_choice("eye_colour", "blue")
    write_mhm(recipe, path)
    return path


def _read_png(path):
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return image


def test_render_views(recipe_file, tmp_path):
    images = {}
    for view in ("front", "three-quarter", "side"):
        out = tmp_path / f"{view}.png"
        assert main(["render", str(recipe_file), "-o", str(out), "--size", "64", "--view", view]) == 0
        images[view] = _read_png(out)
        assert images[view].shape == (64, 64, 3)
        assert (images[view] != images[view][0, 0]).any(axis=2).mean() > 0.2  # a head, not just background
    assert np.abs(images["front"].astype(int) - images["side"]).mean() > 5


def test_generate_and_contact_sheet(tmp_path):
    data, sheet = tmp_path / "data", tmp_path / "sheet.png"
    argv = ["generate", "--count", "3", "--seed", "4", "--workers", "1", "--size", "48", "-o", str(data)]
    assert main([*argv, "--contact-sheet", str(sheet)]) == 0
    assert json.loads((data / "manifest.json").read_text())["count"] == 3
    assert _read_png(sheet).shape[1] == 4 * (2 * 48 + 2)
    again = tmp_path / "again.png"
    assert main(["contact-sheet", str(data), "-o", str(again), "--count", "2", "--columns", "2"]) == 0
    assert _read_png(again).shape == (48 + 2, 2 * (2 * 48 + 2), 3)


def test_generate_without_descriptors(tmp_path):
    data = tmp_path / "data"
    argv = ["generate", "--count", "2", "--seed", "4", "--workers", "1", "--size", "48", "-o", str(data)]
    assert main([*argv, "--no-descriptors"]) == 0
    manifest = json.loads((data / "manifest.json").read_text())
    assert json.loads((data / "settings.json").read_text())["descriptors"] is False  # a resume keeps it
    assert "descriptor" not in manifest["arrays"]
    assert "images" in manifest["arrays"]


@pytest.mark.parametrize("argv", [
    ["render", "RECIPE", "-o", "out.png", "--size", "0"],
    ["render", "RECIPE", "-o", "out.png", "--view", "top"],
    ["render", "RECIPE"],
    ["generate", "--count", "0", "-o", "D"],
    ["generate", "--count", "2", "--workers", "0", "-o", "D"],
    ["generate", "--count", "two", "-o", "D"],
    ["contact-sheet", "D"],
])
def test_bad_usage_exits_2(argv, recipe_file, tmp_path, capsys):
    argv = [str(recipe_file) if a == "RECIPE" else str(tmp_path / a) if a in ("D", "out.png") else a for a in argv]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["missing recipe", "not png", "not a dataset", "sheet not png", "file as dir"])
def test_bad_input_exits_2_with_one_line(case, recipe_file, tmp_path, capsys):
    target = tmp_path / "x.png"
    argv = {
        "missing recipe": ["render", str(tmp_path / "nope.mhm"), "-o", str(target)],
        "not png": ["render", str(recipe_file), "-o", str(tmp_path / "x.jpg")],
        "not a dataset": ["contact-sheet", str(tmp_path), "-o", str(target)],
        "sheet not png": ["generate", "--count", "1", "-o", str(tmp_path / "d"), "--contact-sheet", "s.gif"],
        "file as dir": ["generate", "--count", "1", "-o", str(recipe_file)],
    }[case]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "error" in err
    assert not target.exists()
