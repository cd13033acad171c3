"""Inference: manifest verification, ensemble combination, onnxruntime pipeline without torch."""

import json
import subprocess
import sys

import numpy as np
import pytest
from drawn_faces import drawn_faces

from f2p_engine.errors import AssetError
from f2p_engine.face.identity import face_descriptor
from f2p_engine.headmodel import schema
from f2p_engine.infer.manifest import MANIFEST, Calibration, ModelEntry, load_manifest, seal_manifest, write_manifest
from f2p_engine.infer.pipeline import Predictor
from f2p_engine.nets.spec import DESCRIPTOR_INPUT, FACE, output_layout, preprocess

NOSE_WEIGHT = 0.3
EYE_COLOUR_WEIGHT = 0.6
PHOTO_SHIFT = {"nose": 0.5, "macro": 0.25}
CALIBRATION = Calibration(baseline_l1={r: 0.25 for r in schema.REGIONS},
                          ensemble_l1={"macro": 0.1, "head": 0.2, "nose": 0.15, "eyes": 0.3})


@pytest.fixture(scope="module")
def model_set(tmp_path_factory):
    """A real (untrained) ensemble on disk: aggregate + eyes + nose + identity, and the torch nets behind it."""
    torch = pytest.importorskip("torch")
    from f2p_engine.nets.identity import IdentityNet
    from f2p_engine.nets.registry import create_net
    from f2p_engine.train.export import export_onnx

    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("models")
    nets, entries = {}, []
    for name, crop in (("aggregate", FACE), ("eyes", "eyes"), ("nose", "nose")):
        net = create_net("smallcnn", crop=crop, input_size=24, hidden=32).eval()
        spec = net.preprocessing
        export_onnx(net, directory / f"{name}.onnx", torch.randn(1, 3, spec.height, spec.width))
        nets[name] = net
        entries.append(ModelEntry(name=name, file=f"{name}.onnx", sha256="", net="smallcnn", preprocessing=spec,
                                  layout=net.layout))
    identity = IdentityNet(tuple(p.name for p in schema.CONTINUOUS)).eval()
    export_onnx(identity, directory / "identity.onnx", torch.randn(2, 128), input_name=DESCRIPTOR_INPUT)
    nets["identity"] = identity
    entries.append(ModelEntry(name="identity", file="identity.onnx", sha256="", net="identity-ridge",
                              preprocessing=None, layout=identity.layout))
    weights = {p: [NOSE_WEIGHT, 1 - NOSE_WEIGHT, 0.0] for p in output_layout("nose").params}
    weights.update({p: [-0.5, 1.5, 0.0] for p in output_layout("eyes").params})
    write_manifest(directory, entries, continuous_weights=weights,
                   group_weights={"eye_colour": [EYE_COLOUR_WEIGHT, 1 - EYE_COLOUR_WEIGHT, 0.0]},
                   photo_shift=PHOTO_SHIFT, calibration=CALIBRATION, data={"seed": 1, "size": 3}, metrics={})
    return directory, nets


def _torch_outputs(nets, image, landmarks):
    import torch

    out = {}
    for name, net in nets.items():
        with torch.no_grad():
            if name == "identity":
                out[name] = [net(torch.from_numpy(face_descriptor(image, landmarks))[None])[0].numpy()]
            else:
                x = torch.from_numpy(preprocess(image, landmarks, net.preprocessing))[None]
                out[name] = [o[0].numpy().astype(np.float64) for o in net(x)]
    return out


def test_predictor_combines_models_as_the_manifest_says(model_set):
    directory, nets = model_set
    source = drawn_faces(1, size=64, seed=3)
    sample = source[0]
    prediction = Predictor.load(directory).predict_aligned(sample.image, sample.landmarks)

    out = _torch_outputs(nets, sample.image, sample.landmarks)
    aggregate, identity = out["aggregate"][0], out["identity"][0].astype(np.float64)
    nose = output_layout("nose").param_indices
    eyes = output_layout("eyes").param_indices
    macro = np.asarray([i for i, p in enumerate(schema.CONTINUOUS) if p.region == "macro"])
    shift = PHOTO_SHIFT["nose"]  # photo weights: the fitted ones moved halfway to the identity member
    fitted = aggregate.copy()
    fitted[nose] = NOSE_WEIGHT * aggregate[nose] + (1 - NOSE_WEIGHT) * out["nose"][0]
    fitted[eyes] = -0.5 * aggregate[eyes] + 1.5 * out["eyes"][0]
    unclipped = fitted.copy()
    unclipped[nose] = (1 - shift) * fitted[nose] + shift * identity[nose]
    unclipped[macro] = (1 - PHOTO_SHIFT["macro"]) * aggregate[macro] + PHOTO_SHIFT["macro"] * identity[macro]
    expected = np.clip(unclipped, 0, 1)
    ethnic = [i for i, p in enumerate(schema.CONTINUOUS) if p.name in schema.ETHNIC_MODIFIERS]
    expected[ethnic] /= expected[ethnic].sum()
    np.testing.assert_allclose(prediction.continuous, expected, atol=1e-5)

    def softmax(z):
        return np.exp(z - z.max()) / np.exp(z - z.max()).sum()

    eye_colour = EYE_COLOUR_WEIGHT * softmax(out["aggregate"][2]) + (1 - EYE_COLOUR_WEIGHT) * softmax(out["eyes"][1])
    np.testing.assert_allclose(prediction.probabilities["eye_colour"], eye_colour, atol=1e-5)
    assert prediction.recipe.choice("eye_colour") == schema.EYE_COLOURS[int(np.argmax(eye_colour))]
    assert prediction.recipe.choice("skin") == schema.SKINS[int(np.argmax(out["aggregate"][1]))]
    name = "nose/nose-scale-vert-decr|incr"
    param = schema.continuous_by_name()[name]
    index = [p.name for p in schema.CONTINUOUS].index(name)
    ensemble_value = param.denormalise(expected[index])
    if name in prediction.unfolded:  # moved toward its default to remove a visible fold (test_folds.py)
        assert abs(prediction.recipe.value(name) - param.default) < abs(ensemble_value - param.default)
    else:
        assert prediction.recipe.value(name) == pytest.approx(ensemble_value, abs=1e-5)
    assert prediction.recipe.value(name) == round(prediction.recipe.value(name), 6)

    # Agreement: the mean distance of every member that predicts a parameter from the ensemble.
    spread = np.mean([np.abs(m - unclipped[nose]).mean() for m in (aggregate[nose], out["nose"][0], identity[nose])])
    skill = 1 - 0.15 / 0.25
    assert prediction.confidence["nose"] == pytest.approx(max(0.0, skill * (1 - spread / 0.25)), abs=1e-5)
    assert prediction.confidence["eyes"] == 0.0  # worse than the baseline on held-out data: no confidence
    spread = np.mean([np.abs(m - unclipped[macro]).mean() for m in (aggregate[macro], identity[macro])])
    assert prediction.confidence["macro"] == pytest.approx(max(0.0, (1 - 0.1 / 0.25) * (1 - spread / 0.25)), abs=1e-5)
    assert "chin" not in prediction.confidence or 0 <= prediction.confidence["chin"] <= 1
    assert set(prediction.timings) == {"descriptor", "models", "ensemble", "unfold"}


@pytest.fixture
def copied_set(model_set, tmp_path):
    directory, _ = model_set
    for file in directory.iterdir():
        (tmp_path / file.name).write_bytes(file.read_bytes())
    return tmp_path


def test_manifest_refuses_a_tampered_model(copied_set):
    assert len(load_manifest(copied_set).models) == 4
    data = bytearray((copied_set / "nose.onnx").read_bytes())
    data[-1] ^= 0xFF
    (copied_set / "nose.onnx").write_bytes(bytes(data))
    with pytest.raises(AssetError, match=r"nose\.onnx: sha256 .* does not match"):
        Predictor.load(copied_set)


def test_manifest_refuses_missing_files_and_other_schemas(copied_set, tmp_path_factory):
    with pytest.raises(AssetError, match="no model manifest"):
        load_manifest(tmp_path_factory.mktemp("empty"))
    document = json.loads((copied_set / MANIFEST).read_text())
    document["schema_version"] = schema.SCHEMA_VERSION + 1
    (copied_set / MANIFEST).write_text(json.dumps(document))
    seal_manifest(copied_set)
    with pytest.raises(AssetError, match="parameter schema"):
        load_manifest(copied_set)
    document["schema_version"] = schema.SCHEMA_VERSION
    (copied_set / MANIFEST).write_text(json.dumps(document))
    seal_manifest(copied_set)
    (copied_set / "eyes.onnx").unlink()
    with pytest.raises(AssetError, match=r"eyes\.onnx: model file is missing"):
        load_manifest(copied_set)


def test_inference_never_imports_torch(model_set):
    directory, _ = model_set
    code = (
        "import sys, numpy as np\n"
        "from f2p_engine.infer.pipeline import Predictor\n"
        f"p = Predictor.load({str(directory)!r})\n"
        "r = p.predict_aligned(np.zeros((64, 64, 3), np.uint8), np.full((68, 2), 32.0))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_prediction_names_its_eyebrows_and_eyelashes_as_makehuman_saves_them(model_set):
    """MakeHuman 1.1 saves a character's default brows and lashes as lines; a predicted .mhm did not name them."""
    from f2p_engine.recipe import format_mhm

    directory, _ = model_set
    sample = drawn_faces(1, size=64, seed=3)[0]
    prediction = Predictor.load(directory).predict_aligned(sample.image, sample.landmarks)
    text = format_mhm(prediction.recipe)
    assert any(line.startswith("eyebrows eyebrow") for line in text.splitlines())
    assert any(line.startswith("eyelashes ") for line in text.splitlines())
