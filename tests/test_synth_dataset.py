"""Dataset writer and reader: shards, manifest, determinism across workers, resume."""

import json
import shutil

import numpy as np
import pytest

from f2p_engine.errors import InputError
from f2p_engine.headmodel import schema
from f2p_engine.synth.dataset import GenerateSettings, generate
from f2p_engine.synth.factory import SampleFactory
from f2p_engine.synth.reader import SyntheticDataset

SIZE, COUNT, SEED = 64, 7, 21
SETTINGS = GenerateSettings(seed=SEED, size=SIZE, shard_size=3)


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "set"
    done = []
    generate(folder, COUNT, SETTINGS, workers=2, progress=done.append)
    assert sum(done) == COUNT
    return folder


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_manifest_and_shards(dataset_dir):
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    assert manifest["count"] == COUNT
    assert manifest["seed"] == SEED
    assert manifest["size"] == SIZE
    assert manifest["shards"] == ["shard-0000000-0000003", "shard-0000003-0000006", "shard-0000006-0000007"]
    assert manifest["parameters"] == [p.name for p in schema.CONTINUOUS]
    assert manifest["regions"] == list(schema.LOCAL_REGIONS)
    assert set(manifest["crop_boxes"]) == set(schema.LOCAL_REGIONS)
    np.testing.assert_allclose(manifest["eye_targets"], [[0.36 * SIZE, 0.38 * SIZE], [0.64 * SIZE, 0.38 * SIZE]])
    assert manifest["arrays"]["images"] == {"dtype": "uint8", "shape": [SIZE, SIZE, 3]}


def test_reader_returns_what_the_factory_makes(dataset_dir):
    """Samples written by worker processes equal samples made here, in this process."""
    data = SyntheticDataset.open(dataset_dir)
    assert len(data) == COUNT
    assert data.shard_count == 3
    factory = SampleFactory(SIZE)
    try:
        for index in (0, 4, 6):
            stored, made = data.sample(index), factory.make(SEED, index)
            assert stored["index"] == index
            np.testing.assert_array_equal(stored["images"], made.image)
            np.testing.assert_array_equal(stored["labels"], made.labels)
            np.testing.assert_array_equal(stored["landmarks"], made.landmarks)
            np.testing.assert_array_equal(stored["continuous"], made.continuous)
            np.testing.assert_array_equal(stored["discrete"], made.discrete)
    finally:
        factory.renderer.release()
    shard = data.arrays(1)
    assert shard["images"].shape == (3, SIZE, SIZE, 3)
    assert shard["discrete"].dtype == np.int64
    with pytest.raises(IndexError):
        data.sample(COUNT)


def test_same_seed_same_bytes_and_resume(dataset_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(dataset_dir, copy)
    shutil.rmtree(copy / "shard-0000003-0000006")
    (copy / "manifest.json").unlink()
    (copy / ".shard-0000006-0000007.x.part").mkdir()  # debris of a killed run
    done = []
    generate(copy, COUNT, SETTINGS, workers=1, progress=done.append)
    assert done == [4, 3]  # 4 samples were already there; one shard remade
    assert _files(copy) == _files(dataset_dir)


def test_refuses_other_settings_and_foreign_folders(dataset_dir, tmp_path):
    with pytest.raises(InputError, match="other settings"):
        generate(dataset_dir, COUNT, GenerateSettings(seed=SEED + 1, size=SIZE, shard_size=3))
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "me.jpg").write_bytes(b"x")
    with pytest.raises(InputError, match="not empty"):
        generate(foreign, 2, SETTINGS)
    with pytest.raises(InputError, match="no manifest"):
        SyntheticDataset.open(foreign)


def test_dataset_without_descriptors_has_the_same_samples_and_training_computes_them(dataset_dir, tmp_path):
    from f2p_engine.synth.reader import DatasetSource
    from f2p_engine.train.identity import descriptors_of

    lean = tmp_path / "lean"
    settings = GenerateSettings(seed=SEED, size=SIZE, shard_size=3, descriptors=False)
    generate(lean, COUNT, settings, workers=1)
    manifest = json.loads((lean / "manifest.json").read_text())
    assert "descriptor" not in manifest["arrays"]
    assert not list(lean.rglob("descriptor.npy"))
    full = _files(dataset_dir)
    for name, data in _files(lean).items():
        if name.endswith(".npy"):  # every array but the descriptors is byte-identical
            assert data == full[name], name
    source = DatasetSource.open(lean)
    assert source[0].descriptor is None
    # Computed at training time from image and landmarks == stored by the dataset workers.
    stored = np.concatenate([np.load(dataset_dir / shard / "descriptor.npy") for shard in manifest["shards"]])
    np.testing.assert_array_equal(descriptors_of(source), stored)
    with pytest.raises(InputError, match="other settings"):  # a resume cannot mix the two kinds
        generate(lean, COUNT, SETTINGS)


def test_samples_carry_the_mesh_points_that_agree_with_their_landmarks(dataset_dir):
    from f2p_engine.face.align import eye_centres
    from f2p_engine.face.mesh68 import landmarks_68

    dataset = SyntheticDataset.open(dataset_dir)
    assert dataset.manifest.arrays["mesh_points"].shape == (468, 2)
    for shard in dataset.iter_shards():
        for points, landmarks in zip(shard["mesh_points"], shard["landmarks"], strict=True):
            # The finder's 468 -> 68 table applied to the 468 vertices lands near the 68 vertices: both
            # sets were picked against the same finder.
            eye_distance = np.linalg.norm(np.subtract(*eye_centres(landmarks)))
            error = np.linalg.norm(landmarks_68(points) - landmarks, axis=1)
            assert np.median(error) < 0.08 * eye_distance
