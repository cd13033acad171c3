"""The per-user cache: optimised ONNX graphs (`face.sessions`) and the records of hashed files
(`files.checked_sha256`), on real shipped models."""

import json
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from f2p_engine import files
from f2p_engine.errors import AssetError
from f2p_engine.face import sessions
from f2p_engine.face.sessions import onnx_session, verified_session
from f2p_engine.files import checked_sha256, sha256_file

ROOT = Path(__file__).resolve().parent.parent
MODELS = [ROOT / "resources" / "models" / "nose.onnx", ROOT / "resources" / "face" / "face_detection_short_range.onnx"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(files.CACHE_VARIABLE, str(folder))
    return folder


def _feed(session) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {i.name: rng.random([1 if isinstance(d, str) else d for d in i.shape], dtype=np.float32)
            for i in session.get_inputs()}


def _plain(model: Path):
    return onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_a_cached_graph_loads_unoptimised_and_answers_bit_for_bit_as_the_model(cache, model):
    sha256 = sha256_file(model)
    first = onnx_session(model, sha256)
    graphs = list((cache / "onnx").glob(f"{sha256}-*.onnx"))
    assert len(graphs) == 1
    assert graphs[0].with_suffix(".sha256").read_text().strip() == sha256_file(graphs[0])
    second = onnx_session(model, sha256)
    assert first.get_session_options().graph_optimization_level != onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    assert second.get_session_options().graph_optimization_level == onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    feed = _feed(second)
    for cached, direct in zip(second.run(None, feed), _plain(model).run(None, feed), strict=True):
        np.testing.assert_array_equal(cached, direct)


def test_a_damaged_cached_graph_is_optimised_again(cache):
    model = MODELS[0]
    sha256 = sha256_file(model)
    onnx_session(model, sha256)
    (graph,) = (cache / "onnx").glob("*.onnx")
    damaged = bytearray(graph.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    graph.write_bytes(bytes(damaged))
    session = onnx_session(model, sha256)
    assert session.get_session_options().graph_optimization_level != onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    assert sha256_file(graph) == graph.with_suffix(".sha256").read_text().strip()  # rewritten whole
    feed = _feed(session)
    for cached, direct in zip(session.run(None, feed), _plain(model).run(None, feed), strict=True):
        np.testing.assert_array_equal(cached, direct)


@pytest.mark.parametrize("setting", ["", "a file"])
def test_no_cache_or_an_unwritable_one_is_no_error(tmp_path, monkeypatch, setting):
    if setting:
        (tmp_path / "file").write_text("not a folder")
        setting = str(tmp_path / "file" / "cache")
    monkeypatch.setenv(files.CACHE_VARIABLE, setting)
    model = MODELS[0]
    session = onnx_session(model, sha256_file(model))
    assert len(session.run(None, _feed(session))[0]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == (["file"] if setting else [])


def test_a_model_that_does_not_load_leaves_nothing_in_the_cache(cache, tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(MODELS[0].read_bytes()[:1000])
    with pytest.raises(Exception, match=r"(?i)protobuf|parse|load"):
        onnx_session(broken, sha256_file(broken))
    assert list((cache / "onnx").iterdir()) == []


def test_a_tampered_model_is_refused_though_its_graph_is_cached(cache, tmp_path):
    model = tmp_path / "nose.onnx"
    model.write_bytes(MODELS[0].read_bytes())
    sha256 = sha256_file(model)
    verified_session(model, sha256, kind="test model", manifest="its manifest", remedy="rebuild")
    data = bytearray(model.read_bytes())
    data[-10] ^= 0x01
    model.write_bytes(bytes(data))
    with pytest.raises(AssetError, match="sha256 does not match its manifest; rebuild"):
        verified_session(model, sha256, kind="test model", manifest="its manifest", remedy="rebuild")


def test_an_unchanged_file_is_hashed_once_and_a_rewritten_one_again(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(files, "SETTLE_NS", -1)  # record even files written just now
    hashed = []
    real = files.sha256_file
    monkeypatch.setattr(files, "sha256_file", lambda path: hashed.append(path) or real(path))
    path = tmp_path / "model.bin"
    path.write_bytes(b"a" * 5000)
    first = checked_sha256(path)
    assert checked_sha256(path) == first == real(path)
    assert len(hashed) == 1
    records = json.loads((cache / "sha256.json").read_text())
    assert records[str(path)][-1] == first
    path.write_bytes(b"b" * 5000)  # same size, in place
    assert checked_sha256(path) == real(path) != first
    assert len(hashed) == 2


def test_a_file_changed_just_now_is_not_recorded(cache, tmp_path):
    path = tmp_path / "fresh.bin"
    path.write_bytes(b"fresh")
    assert checked_sha256(path) == sha256_file(path)
    assert not (cache / "sha256.json").exists() or str(path) not in json.loads((cache / "sha256.json").read_text())


def test_the_oldest_graphs_go_past_the_limit(cache, monkeypatch):
    monkeypatch.setattr(sessions, "MAX_GRAPHS", 1)
    for model in MODELS:
        onnx_session(model, sha256_file(model))
    kept = sorted(p.name for p in (cache / "onnx").iterdir())
    newest = sha256_file(MODELS[-1])
    assert len(kept) == 2  # its graph and its sha256
    assert all(name.startswith(newest) for name in kept)


def test_the_oldest_records_go_past_the_limit(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(files, "SETTLE_NS", -1)
    monkeypatch.setattr(files, "MAX_RECORDS", 2)
    paths = [tmp_path / f"{k}.bin" for k in range(3)]
    for path in paths:
        path.write_bytes(path.name.encode())
        checked_sha256(path)
    assert list(json.loads((cache / "sha256.json").read_text())) == [str(p) for p in paths[1:]]


def test_a_graph_that_cannot_be_written_costs_only_the_cache(cache, tmp_path, monkeypatch):
    # onnxruntime refuses the whole session when it cannot write the optimised graph (a full disk, a
    # folder gone): the session comes without the cache, not as "the model does not load".
    monkeypatch.setattr(sessions, "_staging", lambda cached: tmp_path / "gone" / "graph.onnx")
    model = MODELS[0]
    session = onnx_session(model, sha256_file(model))
    feed = _feed(session)
    np.testing.assert_array_equal(session.run(None, feed)[0], _plain(model).run(None, feed)[0])
    assert not (cache / "onnx").exists()
