"""`f2p mesh` and `f2p sample`: outputs, exit codes, one-line errors, no partial files."""

import subprocess
import sys

import numpy as np
import pytest
import trimesh

from f2p_engine.cli import main
from f2p_engine.headmodel import schema
from f2p_engine.recipe import read_recipe


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples")
    assert main(["sample", "--count", "4", "--seed", "11", "-o", str(out)]) == 0
    return sorted(out.glob("*.mhm"))


def test_sample_writes_clean_plausible_recipes(samples, tmp_path):
    assert len(samples) == 4
    recipes = []
    for path in samples:
        result = read_recipe(path)
        assert result.warnings == ()
        assert result.recipe.unapplied() == []
        recipes.append(result.recipe)
    # Left/right pairs are near-symmetric; faces differ from each other.
    for recipe in recipes:
        for p in schema.CONTINUOUS:
            if p.mirror:
                assert abs(recipe.value(p.name) - recipe.value(p.mirror)) < 0.3
    assert recipes[0].modifiers != recipes[1].modifiers
    # Same seed, same bytes.
    assert main(["sample", "--count", "4", "--seed", "11", "-o", str(tmp_path)]) == 0
    assert [p.read_bytes() for p in sorted(tmp_path.glob("*.mhm"))] == [p.read_bytes() for p in samples]


@pytest.mark.parametrize("suffix", [".obj", ".glb", ".ply"])
def test_mesh_formats_load_with_normals(samples, tmp_path, suffix):
    out = tmp_path / f"head{suffix}"
    assert main(["mesh", str(samples[0]), "-o", str(out)]) == 0
    mesh = trimesh.load(out, force="mesh", process=False)
    assert len(mesh.vertices) > 4000
    assert len(mesh.faces) > 8000
    assert np.isfinite(mesh.vertex_normals).all()


def test_mesh_says_every_file_it_wrote(tmp_path, capsys):
    from f2p_engine.recipe import Recipe, write_mhm

    recipe = tmp_path / "styled.mhm"
    write_mhm(Recipe().with_choice("hair", "bob02").with_choice("eyebrows", "eyebrow003"), recipe)
    assert main(["mesh", str(recipe), "-o", str(tmp_path / "head.obj")]) == 0
    names = ["head.obj", "head.mtl", "head_eyebrow003.png", "head_bob02.png"]
    assert capsys.readouterr().out.strip() == f"f2p mesh: wrote {', '.join(str(tmp_path / n) for n in names)}"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names, "styled.mhm"])


def test_basemesh_obj_has_every_vertex_in_order(samples, tmp_path, head_model):
    out = tmp_path / "base.obj"
    assert main(["mesh", str(samples[1]), "--basemesh", "-o", str(out)]) == 0
    vertices = np.array([line.split()[1:] for line in out.read_text().splitlines() if line.startswith("v ")],
                        dtype=np.float64)
    expected = head_model.vertices(read_recipe(samples[1]).recipe.modifiers)
    assert vertices.shape == (19158, 3)
    np.testing.assert_allclose(vertices, expected, atol=1e-6)


@pytest.mark.parametrize(("content", "problem"), [
    (None, "no such file"),
    (b"\x00\x01\x02binary", "binary"),
    (b"just some text\n", "not an .mhm"),
])
def test_bad_recipe_exits_2_with_one_line(tmp_path, content, problem):
    recipe = tmp_path / "in.mhm"
    if content is not None:
        recipe.write_bytes(content)
    out = tmp_path / "out.obj"
    result = subprocess.run([sys.executable, "-m", "f2p_engine", "mesh", str(recipe), "-o", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert problem in lines[0]
    assert str(recipe) in lines[0]
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == ([recipe] if content is not None else [])


def test_bad_usage_exits_2(samples, tmp_path, capsys):
    assert main(["mesh", str(samples[0]), "-o", str(tmp_path / "x.stl")]) == 2
    assert main(["mesh", str(samples[0]), "--basemesh", "-o", str(tmp_path / "x.glb")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["sample", "--count", "0", "-o", str(tmp_path)])
    assert exc.value.code == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["mesh", "sample"])
def test_unwritable_output_exits_2_with_one_line(samples, tmp_path, command):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    out = blocker / ("head.obj" if command == "mesh" else "recipes")
    argv = ["mesh", str(samples[0])] if command == "mesh" else ["sample", "--count", "1"]
    result = subprocess.run([sys.executable, "-m", "f2p_engine", *argv, "-o", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"f2p {command}: error: {blocker}")
    assert "Traceback" not in result.stderr
    assert sorted(tmp_path.iterdir()) == [blocker]
