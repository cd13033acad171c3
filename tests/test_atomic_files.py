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
