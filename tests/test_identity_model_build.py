"""scripts/build_identity_model.py: our reader of dlib's file and the ONNX it builds are what ships."""

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
face_recognition_models = pytest.importorskip("face_recognition_models")
pytest.importorskip("onnx")

import build_identity_model as build  # noqa: E402


@pytest.fixture(scope="module")
def network():
    path = Path(face_recognition_models.face_recognition_model_location())
    return build.read_network(path.read_bytes())


def test_the_reader_finds_dlibs_face_recognition_resnet(network):
    kinds = [layer.kind for layer in network.layers]
    assert (kinds.count("con"), kinds.count("affine"), kinds.count("add_prev")) == (29, 29, 14)
    first, fc = network.layers[0], network.layers[-1]
    assert first.weights["kernel"].shape == (32, 3, 7, 7)
    assert fc.weights["matrix"].shape == (256, 128)
    # dlib's stored input means (input_rgb_image's defaults).
    assert network.means == pytest.approx((122.782, 117.001, 104.298), abs=1e-4)


def test_the_shipped_onnx_is_exactly_what_the_script_builds(network):
    manifest = json.loads((ROOT / "resources" / "face" / "manifest.json").read_text())["models"][build.NAME]
    built = build.build_onnx(network)
    assert hashlib.sha256(built).hexdigest() == manifest["sha256"]
    source = Path(face_recognition_models.face_recognition_model_location()).read_bytes()
    assert hashlib.sha256(source).hexdigest() == manifest["source_sha256"]


def test_a_truncated_file_is_refused():
    path = Path(face_recognition_models.face_recognition_model_location())
    with pytest.raises(ValueError, match="ends at byte"):
        build.read_network(path.read_bytes()[:200_000])
