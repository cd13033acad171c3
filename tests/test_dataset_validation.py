"""A dataset folder (`f2p evaluate --data`, `f2p contact-sheet`, training) is checked on open: every
broken one ends in exit 2 and one line naming the file (issue 12's reproducers); `f2p generate`
rerun over a damaged shard repairs it without losing the manifest."""

import json
import shutil
import threading
import time

import numpy as np
import pytest
from hostile_json import JSON
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from f2p_engine.cli import main
from f2p_engine.errors import InputError
from f2p_engine.synth.dataset import GenerateSettings, generate
from f2p_engine.synth.reader import MANIFEST, SyntheticDataset

SETTINGS = GenerateSettings(seed=8, size=64, shard_size=2)
COUNT = 4
SHARD = "shard-0000002-0000004"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("made") / "data"
    generate(folder, COUNT, SETTINGS, workers=1)
    return folder


@pytest.fixture
def data(made, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(made, folder)
    return folder


def _manifest(folder):
    return json.loads((folder / MANIFEST).read_text())


def _fails(folder, tmp_path, capsys, command, names):
    """`command` on `folder` exits 2 with one line naming `names`, and writes nothing."""
    out = tmp_path / "out"
    argv = {"contact-sheet": ["contact-sheet", str(folder), "-o", str(out / "sheet.png")],
            "evaluate": ["evaluate", "--data", str(folder), "--out", str(out)],
            "train": ["train", "--data", str(folder), "-o", str(out)]}[command]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"f2p {command}: error: {names}")
    assert not out.exists()
    return lines[0]


COMMANDS = pytest.mark.parametrize("command", ["contact-sheet", "evaluate"])


@COMMANDS
def test_the_copy_reads(data, tmp_path, command):
    argv = {"contact-sheet": ["contact-sheet", str(data), "-o", str(tmp_path / "sheet.png")],
            "evaluate": ["evaluate", "--data", str(data), "--out", str(tmp_path / "report")]}[command]
    assert main(argv) == 0


@pytest.mark.parametrize("edit", ["NaN targets", "fewer rows"])
def test_training_refuses_a_broken_dataset_before_any_work(data, tmp_path, capsys, edit):
    pytest.importorskip("torch")
    ARRAY_EDITS[edit](data)
    _fails(data, tmp_path, capsys, "train", data / SHARD)


def _save(folder, name, array):
    np.save(folder / SHARD / f"{name}.npy", array)


ARRAY_EDITS = {
    "zero-byte file": lambda f: (f / SHARD / "continuous.npy").write_bytes(b""),
    "truncated file": lambda f: (f / SHARD / "images.npy").write_bytes((f / SHARD / "images.npy").read_bytes()[:5000]),
    "landmark shape": lambda f: _save(f, "landmarks", np.zeros((2, 5, 2), np.float32)),
    "landmark dtype": lambda f: _save(f, "landmarks", np.zeros((2, 68, 2), np.float64)),
    "fewer rows": lambda f: _save(f, "discrete", np.zeros((1, 3), np.int64)),
    "NaN targets": lambda f: _save(f, "continuous", np.full((2, 117), np.nan, np.float32)),
    "targets above 1": lambda f: _save(f, "continuous", np.full((2, 117), 3.0, np.float32)),
    "labels out of range": lambda f: _save(f, "discrete", np.full((2, 3), 99, np.int64)),
    "region ids out of range": lambda f: _save(f, "labels", np.full((2, 64, 64), 200, np.uint8)),
    "pickled object array": lambda f: np.save(f / SHARD / "pose.npy", np.array([None, None], dtype=object)),
    "missing file": lambda f: (f / SHARD / "descriptor.npy").unlink(),
}


@COMMANDS
@pytest.mark.parametrize("edit", list(ARRAY_EDITS), ids=list(ARRAY_EDITS))
def test_broken_shards_are_refused(data, tmp_path, capsys, command, edit):
    ARRAY_EDITS[edit](data)
    _fails(data, tmp_path, capsys, command, data / SHARD)


MANIFEST_EDITS = {
    "a list": lambda m: [m],
    "count 0": lambda m: {**m, "count": 0},
    "count too big": lambda m: {**m, "count": 10**12},
    "count above the shards": lambda m: {**m, "count": 5},
    "shard_size 0": lambda m: {**m, "shard_size": 0},
    "shards missing": lambda m: {k: v for k, v in m.items() if k != "shards"},
    "a shard outside": lambda m: {**m, "shards": ["../../etc", m["shards"][1]]},
    "size a string": lambda m: {**m, "size": "64"},
    "array spec changed": lambda m: {**m, "arrays": {**m["arrays"], "images": {"dtype": "uint8", "shape": [1]}}},
    "eye targets NaN": lambda m: {**m, "eye_targets": [[float("nan"), 1.0], [2.0, 1.0]]},
    "eye target beyond float": lambda m: {**m, "eye_targets": [[10**400, 1.0], [2.0, 1.0]]},
}


@COMMANDS
@pytest.mark.parametrize("edit", list(MANIFEST_EDITS), ids=list(MANIFEST_EDITS))
def test_broken_manifests_are_refused(data, tmp_path, capsys, command, edit):
    (data / MANIFEST).write_text(json.dumps(MANIFEST_EDITS[edit](_manifest(data))))
    _fails(data, tmp_path, capsys, command, data / MANIFEST)


def test_generate_repairs_a_truncated_shard_and_keeps_the_manifest_until_then(data, made):
    images = data / SHARD / "images.npy"
    images.write_bytes(images.read_bytes()[:3000])
    manifest = (data / MANIFEST).read_bytes()
    missing, running = [], threading.Event()

    def watch():  # the manifest, looked at every millisecond while generate runs
        while running.is_set():
            if not (data / MANIFEST).is_file():
                missing.append(time.perf_counter())
            time.sleep(0.001)

    running.set()
    watcher = threading.Thread(target=watch)
    watcher.start()
    done = []
    try:
        generate(data, COUNT, SETTINGS, workers=1, progress=done.append)
    finally:
        running.clear()
        watcher.join()
    assert missing == []
    assert done == [2, 2]  # one good shard kept, the damaged one made again
    assert images.read_bytes() == (made / SHARD / "images.npy").read_bytes()
    assert (data / MANIFEST).read_bytes() == manifest
    assert len(SyntheticDataset.open(data)) == COUNT


def test_generate_over_a_shrunk_count_keeps_old_shards_until_the_new_manifest(data, capsys):
    generate(data, 2, SETTINGS, workers=1)
    assert _manifest(data)["count"] == 2
    assert not (data / SHARD).exists()


# -- property: any JSON in place of a manifest field, any array in place of a shard file -----------------
ARRAY_NAMES = ("images", "labels", "landmarks", "boxes", "continuous", "discrete", "pose", "index", "descriptor")
ARRAYS = st.tuples(st.sampled_from(["uint8", "int32", "int64", "float32", "float64"]),
                   st.lists(st.integers(0, 4), max_size=3),
                   st.floats(allow_nan=True, allow_infinity=True, width=32))


@seed(21)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["format", "count", "seed", "size", "shard_size", "augmentation", "generator_version",
                            "schema_version", "shards", "arrays", "parameters", "discrete_groups", "labels",
                            "regions", "eye_targets", "crop_boxes"]),
       value=JSON, delete=st.booleans(), array=st.sampled_from(ARRAY_NAMES), replacement=ARRAYS,
       which=st.sampled_from(["manifest", "array"]))
def test_any_damage_ends_in_a_dataset_or_an_input_error(made, tmp_path_factory, key, value, delete, array,
                                                        replacement, which):
    folder = tmp_path_factory.mktemp("fuzz") / "data"
    shutil.copytree(made, folder)
    if which == "manifest":
        document = _manifest(folder)
        if delete:
            del document[key]
        else:
            document[key] = value
        (folder / MANIFEST).write_text(json.dumps(document))
    else:
        dtype, shape, fill = replacement
        value = fill if "float" in dtype else int(abs(np.nan_to_num(fill))) % 256
        _save(folder, array, np.full([2, *shape], value, dtype=dtype))
    problem = _open_every_shard(folder)
    assert problem is None or ("\n" not in problem and str(folder) in problem)


def _open_every_shard(folder):
    """None if the dataset opens and every shard reads, else the InputError's message."""
    try:
        dataset = SyntheticDataset.open(folder)
        for shard in range(dataset.shard_count):
            dataset.arrays(shard)
    except InputError as exc:
        return str(exc)
    return None
