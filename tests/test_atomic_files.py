"""Atomic output files and folders (f2p_engine.files)."""

import stat

import pytest

from f2p_engine.files import atomic_directory


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


def test_atomic_directory_appears_whole_and_readable(tmp_path):
    out = tmp_path / "out"
    with atomic_directory(out) as staging:
        (staging / "sub").mkdir()
        (staging / "sub" / "a.txt").write_text("a")
        assert not out.exists()
    assert (out / "sub" / "a.txt").read_text() == "a"
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert _leftovers(tmp_path) == []


def test_atomic_directory_merges_into_an_existing_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.txt").write_text("old")
    (out / "replaced.txt").write_text("old")
    with atomic_directory(out) as staging:
        (staging / "replaced.txt").write_text("new")
    assert (out / "kept.txt").read_text() == "old"
    assert (out / "replaced.txt").read_text() == "new"
    assert _leftovers(tmp_path) == []


def test_atomic_directory_failure_changes_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")

    def interrupted_write():
        with atomic_directory(out) as staging:
            (staging / "a.txt").write_text("half")
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted_write()
    assert [p.name for p in out.iterdir()] == ["a.txt"]
    assert (out / "a.txt").read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_atomic_outputs_appear_together_or_not_at_all(tmp_path):
    from f2p_engine.files import atomic_output, atomic_outputs

    first, second = tmp_path / "a.mhm", tmp_path / "a.json"
    second.write_text("old")

    def failing_second_write():
        with atomic_outputs(first, second) as (staged_first, staged_second):
            with atomic_output(staged_first) as same:  # a writer handed a staged name writes it in place
                assert same == staged_first
                same.write_text("new")
            staged_second.write_text("new")
            raise RuntimeError("the second write failed")

    with pytest.raises(RuntimeError):
        failing_second_write()
    assert not first.exists()
    assert second.read_text() == "old"
    assert _leftovers(tmp_path) == []
    with atomic_outputs(first, second) as (staged_first, staged_second):
        staged_first.write_text("1")
        staged_second.write_text("2")
        assert not first.exists()
    assert (first.read_text(), second.read_text()) == ("1", "2")


def test_atomic_outputs_refuse_inputs_repeats_and_folders(tmp_path):
    from f2p_engine.errors import InputError
    from f2p_engine.files import atomic_outputs

    photo = tmp_path / "P.png"
    photo.write_bytes(b"photo")
    (tmp_path / "dir").mkdir()
    for outputs, inputs, problem in [((photo,), (photo,), "is also the input"),
                                     ((tmp_path / "x", tmp_path / "." / "x"), (), "two outputs"),
                                     ((tmp_path / "dir",), (), "is a folder")]:
        with pytest.raises(InputError, match=problem), atomic_outputs(*outputs, inputs=inputs):
            pass
    assert photo.read_bytes() == b"photo"
    assert _leftovers(tmp_path) == []
