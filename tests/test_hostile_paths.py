"""Issue 21, paths: symbolic link loops, FIFOs, devices and dangling links are refused in one line
wherever a path enters (inputs, outputs, folders and globs, which say what they skip); an input's
size is checked before it is read."""

import os

import pytest

from f2p_engine.cli import main
from f2p_engine.files import MAX_INPUT_BYTES, resources_dir
from f2p_engine.recipe import read_recipe

SAMPLE = resources_dir() / "samples" / "synthetic_face.png"
RECIPE = resources_dir() / "samples" / "synthetic_face.mhm"


@pytest.fixture
def odd(tmp_path):
    """A folder holding a link loop, a dangling link and a FIFO, each named like a photo."""
    os.symlink("loop.jpg", tmp_path / "loop.jpg")
    os.symlink("nowhere.png", tmp_path / "dangling.png")
    os.mkfifo(tmp_path / "fifo.png")
    return tmp_path


def _one_line(capsys, command, path, problem):
    err = capsys.readouterr().err
    assert err == f"f2p {command}: error: {path}: {problem}\n"


LOOP = "symbolic link loop"


@pytest.mark.parametrize(("argv", "name"), [
    (["predict", "{loop}", "-o", "{tmp}/x.mhm"], "loop.jpg"),
    (["predict", str(SAMPLE), "-o", "{loop}"], "loop.mhm"),
    (["predict", str(SAMPLE), "-o", "{tmp}/x.mhm", "--json", "{loop}"], "loop.json"),
    (["predict", "--fuse", "{loop}", str(SAMPLE), "-o", "{tmp}/x.mhm"], "loop.jpg"),
    (["predict", str(SAMPLE), "{loop}", "-o", "{tmp}/out"], "loop.jpg"),
    (["predict", str(SAMPLE), "{tmp}", "-o", "{loop}"], "loop"),
    (["mesh", "{loop}", "-o", "{tmp}/x.obj"], "loop.mhm"),
    (["mesh", str(RECIPE), "-o", "{loop}"], "loop.obj"),
    (["render", "{loop}", "-o", "{tmp}/x.png"], "loop.mhm"),
    (["contact-sheet", "{loop}", "-o", "{tmp}/x.png"], "loop.mhm"),
])
def test_a_symlink_loop_is_refused_in_one_line(argv, name, tmp_path, capsys):
    loop = tmp_path / name
    os.symlink(name, loop)
    argv = [a.format(loop=loop, tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    _one_line(capsys, argv[0], loop, LOOP)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # nothing written


@pytest.mark.parametrize(("name", "problem"), [
    ("loop.jpg", LOOP), ("dangling.png", "dangling symbolic link (to nowhere.png, which does not exist)"),
    ("fifo.png", "is a FIFO (named pipe), not a file")])
def test_odd_files_named_as_inputs_are_refused_in_one_line(name, problem, odd, capsys):
    assert main(["predict", str(odd / name), "-o", str(odd / "x.mhm")]) == 2
    _one_line(capsys, "predict", odd / name, problem)
    with pytest.raises(Exception, match=problem.replace("(", r"\(").replace(")", r"\)")):
        read_recipe(odd / name)


def test_a_device_is_refused_as_input_and_as_output(tmp_path, capsys):
    assert main(["predict", "/dev/zero", "-o", str(tmp_path / "x.mhm")]) == 2
    _one_line(capsys, "predict", "/dev/zero", "is a character device, not a file")
    null = tmp_path / "null.obj"
    os.symlink("/dev/null", null)
    assert main(["mesh", str(RECIPE), "-o", str(null)]) == 2
    _one_line(capsys, "mesh", null, "is a character device, not a file")


def test_folders_and_globs_skip_odd_entries_and_say_so(odd, tmp_path, capsys):
    (odd / "face.png").write_bytes(SAMPLE.read_bytes())
    for argv in ([str(odd)], [str(odd / "*.*")]):
        out = tmp_path / f"out{len(argv[0])}"
        assert main(["predict", *argv, "-o", str(out)]) == 0
        err = [line for line in capsys.readouterr().err.splitlines() if "%|" not in line]
        assert sorted(err) == [
            f"f2p predict: warning: {odd / 'dangling.png'}: dangling symbolic link (to nowhere.png, which does "
            "not exist); skipped",
            f"f2p predict: warning: {odd / 'fifo.png'}: is a FIFO (named pipe), not a file; skipped",
            f"f2p predict: warning: {odd / 'loop.jpg'}: {LOOP}; skipped"]
        assert (out / "face.mhm").is_file()


def test_a_huge_file_is_refused_before_it_is_read(tmp_path, capsys):
    big = tmp_path / "big.png"
    with big.open("wb") as handle:  # sparse: takes no disk space, and no memory unless read
        handle.truncate(MAX_INPUT_BYTES + 1)
    assert main(["predict", str(big), "-o", str(tmp_path / "x.mhm")]) == 2
    _one_line(capsys, "predict", big, f"{(MAX_INPUT_BYTES + 1) / 2**20:.0f} MB, larger than the "
                                      f"{MAX_INPUT_BYTES >> 20} MB an input file may be")


def test_a_byte_order_mark_before_version_is_read(tmp_path):
    recipe = tmp_path / "bom.mhm"
    recipe.write_bytes(b"\xef\xbb\xbf" + RECIPE.read_bytes())
    assert read_recipe(recipe).recipe.modifiers == read_recipe(RECIPE).recipe.modifiers


def test_a_missing_home_adds_no_line(tmp_path):
    """onnxruntime warns when it cannot store its telemetry ID in HOME: not a line f2p promised."""
    import subprocess
    import sys

    out = tmp_path / "x.mhm"
    env = {**os.environ, "HOME": str(tmp_path / "no-home")}
    done = subprocess.run([sys.executable, "-m", "f2p_engine", "predict", str(SAMPLE), "-o", str(out)], env=env,
                          capture_output=True, text=True, timeout=120, cwd=resources_dir().parent)
    assert done.returncode == 0
    assert done.stderr == ""
    assert done.stdout == f"f2p predict: wrote {out}\n"
