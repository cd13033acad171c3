"""`f2p train`, `f2p evaluate`, `f2p predict` end to end on a tiny rendered dataset and a real photo."""

import json

import pytest

pytest.importorskip("torch")

from f2p_engine.cli import main
from f2p_engine.headmodel import schema
from f2p_engine.recipe import read_recipe
from f2p_engine.synth.dataset import GenerateSettings, generate

TINY = {"regions": ["eyes", "nose"], "holdout_fraction": 0.3,
        "aggregate": {"net": "smallcnn", "pretrained": False, "input_size": 32, "hidden": 32, "feature_epochs": 0,
                      "finetune_epochs": 1, "batch_size": 4},
        "local": {"net": "smallcnn", "pretrained": False, "input_size": 16, "hidden": 32, "feature_epochs": 0,
                  "finetune_epochs": 1, "batch_size": 4}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    generate(root / "train", 8, GenerateSettings(seed=3, size=64, shard_size=4), workers=1)
    generate(root / "heldout", 4, GenerateSettings(seed=4, size=64, shard_size=4), workers=1)
    (root / "tiny.json").write_text(json.dumps(TINY))
    code = main(["train", "--data", str(root / "train"), "-o", str(root / "run"), "--config", str(root / "tiny.json"),
                 "--threads", "1"])
    assert code == 0
    return root


def test_train_writes_a_verified_model_set(trained):
    manifest = json.loads((trained / "run" / "models" / "manifest.json").read_text())
    assert [m["name"] for m in manifest["models"]] == ["aggregate", "eyes", "nose", "identity"]
    assert manifest["models"][-1]["preprocessing"] is None  # the identity member reads a descriptor
    assert manifest["ensemble"]["members"] == ["aggregate", "local", "identity"]
    assert manifest["data"]["seed"] == 3
    assert manifest["data"]["count"] == 8
    for name in ("aggregate", "eyes", "nose"):
        assert (trained / "run" / name / "loss.png").is_file()
        assert (trained / "run" / name / "log.csv").read_text().count("\n") == 2  # header + one epoch


def test_evaluate_writes_metrics_and_report(trained):
    out = trained / "report"
    assert main(["evaluate", "--data", str(trained / "heldout"), "--models", str(trained / "run" / "models"),
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["regions"]["nose"]) == {"baseline_l1", "aggregate_l1", "local_l1", "identity_l1", "ensemble_l1",
                                               "photo_l1"}
    assert set(metrics["constant_weights"]) == {"0.0", "0.5", "1.0", "learned"}
    assert set(metrics["discrete"]) == {g.name for g in schema.DISCRETE_GROUPS if g.predicted}
    assert metrics["samples"] == 4
    assert (out / "report.md").read_text().startswith("# f2p evaluation")


def test_predict_writes_a_recipe_from_a_photo(trained, tmp_path):
    from skimage.data import astronaut

    from f2p_engine.face.image import write_png

    photo = tmp_path / "astronaut.png"
    write_png(photo, astronaut())
    out = tmp_path / "astronaut.mhm"
    code = main(["predict", str(photo), "-o", str(out), "--json", str(tmp_path / "a.json"),
                 "--models", str(trained / "run" / "models")])
    assert code == 0
    result = read_recipe(out)
    assert result.warnings == ()
    assert result.recipe.name == "astronaut"
    record = json.loads((tmp_path / "a.json").read_text())
    assert set(record["confidence"]) >= {"nose", "eyes", "macro"}
    assert {"load_models", "align", "adapt", "models"} <= set(record["timings_ms"])


def test_predict_refuses_a_tampered_model(trained, tmp_path, capsys):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(trained / "run" / "models", models)
    with (models / "eyes.onnx").open("ab") as handle:
        handle.write(b"\0")
    assert main(["predict", str(tmp_path / "whatever.png"), "-o", str(tmp_path / "x.mhm"),
                 "--models", str(models)]) == 2
    assert "eyes.onnx: sha256" in capsys.readouterr().err
    assert not (tmp_path / "x.mhm").exists()
