"""Ray: `f2p generate --ray` and `f2p predict --ray` on a real local cluster (a head and one worker node).

Skipped only when Ray is not installed; CI installs it with the `cluster` extra (scripts/install.sh).
"""

import filecmp
import shutil
import sys

import pytest
from face_samples import astronaut

from f2p_engine.cli import main
from f2p_engine.errors import InputError
from f2p_engine.face.image import write_png
from f2p_engine.synth.cluster import MISSING_RAY, import_ray, ray_runner
from f2p_engine.synth.dataset import GenerateSettings, generate

pytest.importorskip("ray")

SETTINGS = GenerateSettings(seed=11, size=64, shard_size=2)


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "object_store_memory": 80 * 2**20}
    started = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    started.add_node(**node)
    started.wait_for_nodes()
    yield started
    started.shutdown()


def _same_tree(left, right):
    comparison = filecmp.dircmp(left, right)
    assert not comparison.left_only
    assert not comparison.right_only
    assert not comparison.diff_files
    _, mismatch, errors = filecmp.cmpfiles(left, right, comparison.common_files, shallow=False)
    assert not mismatch
    assert not errors
    for sub in comparison.common_dirs:
        _same_tree(left / sub, right / sub)


def test_ray_generate_is_byte_identical_to_the_local_run_and_resumes(cluster, tmp_path):
    generate(tmp_path / "local", 6, SETTINGS, workers=1)
    manifest = generate(tmp_path / "ray", 6, SETTINGS, runner=ray_runner(cluster.address))
    assert manifest.count == 6
    _same_tree(tmp_path / "local", tmp_path / "ray")

    kept = (tmp_path / "ray" / "shard-0000000-0000002" / "images.npy").stat().st_mtime_ns
    shutil.rmtree(tmp_path / "ray" / "shard-0000002-0000004")
    generate(tmp_path / "ray", 6, SETTINGS, runner=ray_runner(cluster.address))
    _same_tree(tmp_path / "local", tmp_path / "ray")
    assert (tmp_path / "ray" / "shard-0000000-0000002" / "images.npy").stat().st_mtime_ns == kept


def test_ray_predict_writes_the_recipes_of_a_local_batch(cluster, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    write_png(photos / "a.png", astronaut())
    write_png(photos / "b.png", astronaut()[:, ::-1].copy())
    assert main(["predict", str(photos), "-o", str(tmp_path / "local")]) == 0
    assert main(["predict", str(photos), "-o", str(tmp_path / "ray"), "--ray", cluster.address]) == 0
    for name in ("a.mhm", "b.mhm"):
        local, remote = ((tmp_path / d / name).read_text().splitlines() for d in ("local", "ray"))
        assert [x for x in local if not x.startswith("uuid ")] == [x for x in remote if not x.startswith("uuid ")]


@pytest.mark.parametrize("command", [["generate", "--count", "4"], ["predict", "{photo}"]])
def test_unreachable_ray_address_is_one_line_and_exit_2(command, tmp_path, capsys):
    photo = tmp_path / "a.png"
    write_png(photo, astronaut())
    argv = [a.format(photo=photo) for a in command] + ["--ray", "127.0.0.1:9", "-o", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"f2p {command[0]}: error: 127.0.0.1:9: cannot reach a Ray cluster (Connection refused)"]
    assert not (tmp_path / "out").exists()


def test_missing_ray_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without the extra sees
    with pytest.raises(InputError, match=MISSING_RAY.replace("[", r"\[").replace(".", r"\.")):
        import_ray()


@pytest.fixture(params=["http", "silent"])
def not_ray(request):
    """host:port of a server that is not Ray: an HTTP server (as Ray's dashboard is), or one that
    accepts connections and never says a word."""
    import http.server
    import socket
    import threading

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # the server's own lines are not f2p's stderr
            pass

    if request.param == "http":
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"127.0.0.1:{server.server_address[1]}", "answers, but not as a Ray cluster"
        server.shutdown()
        server.server_close()
    else:
        listener = socket.create_server(("127.0.0.1", 0))
        yield f"127.0.0.1:{listener.getsockname()[1]}", "no answer within"
        listener.close()


@pytest.mark.parametrize("command", [["generate", "--count", "4"], ["predict", "{photo}"]])
def test_an_address_that_is_not_ray_is_refused_quickly_before_anything_is_written(command, not_ray, tmp_path,
                                                                                  capsys):
    import time

    address, problem = not_ray
    photo = tmp_path / "a.png"
    write_png(photo, astronaut())
    argv = [a.format(photo=photo) for a in command] + ["--ray", address, "-o", str(tmp_path / "out")]
    began = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - began < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"f2p {command[0]}: error: {address}: {problem}")
    assert not (tmp_path / "out").exists()
