"""Issue 21, `f2p train --config`: validated like a model manifest before any work; every reproducer
of the issue is one line naming the file and the setting, exit 2, nothing written."""

import json

import pytest

pytest.importorskip("torch")

from f2p_engine.cli import main
from f2p_engine.train.config_file import read_ensemble_config


@pytest.mark.parametrize(("config", "problem"), [
    (["aggregate"], "the file must be a JSON object of settings"),
    ({"aggregate": 5}, "aggregate must be a JSON object of settings"),
    ({"local": {"batch_size": 0}}, "local.batch_size: must be an integer from 1 to 65536, got 0"),
    ({"local": {"batch_size": "32"}}, 'local.batch_size: must be an integer from 1 to 65536, got "32"'),
    ({"aggregate": {"batch_size": 32.0}}, "aggregate.batch_size: must be an integer from 1 to 65536, got 32.0"),
    ({"regions": ["nose", "bogus"]}, "regions: must be a list of different regions among eyes, eyebrows, nose, "
                                     'mouth, chin, cheeks, forehead, got ["nose", "bogus"]'),
    ({"local": {"finetune_lr": float("nan")}}, "local.finetune_lr: must be a number in (0, 10], got NaN"),
    ({"aggregate": {"net": "resnet9000"}}, "aggregate.net: must be one of mobilenetv2, mobilenetv2_s16, smallcnn, "
                                           'smallcnn16, got "resnet9000"'),
    ({"holdout_fraction": 1.5}, "holdout_fraction: must be a number in (0, 0.9], got 1.5"),
    ({"holdout_fraction": 0}, "holdout_fraction: must be a number in (0, 0.9], got 0"),
    ({"holdout_fraction": -1}, "holdout_fraction: must be a number in (0, 0.9], got -1"),
    ({"local": {"input_size": 3}}, "local.input_size: must be an integer from 16 to 1024, got 3"),
    ({"local": {"pool": 7}}, "local (eyes): pool grid 7 does not divide the 3x8 feature map of a 48x120 eyes "
                             "input; pick another pool or input size"),
    ({"learning_rate": 1}, "learning_rate: unknown setting (known: aggregate, holdout_fraction, identity, local, "
                           "regions, split_seed)"),
    ({"identity": {"kind": "svm"}}, 'identity.kind: must be one of ridge, mlp, got "svm"'),
    ({"aggregate": {"finetune_epochs": 0}}, "aggregate: feature_epochs + finetune_epochs must be at least 1"),
    ({"local": {"feature_epochs": 2}}, "local: smallcnn16: feature extraction needs a pretrained backbone; set "
                                       "feature_epochs=0 to train it from scratch"),
])
def test_a_bad_config_is_one_line_before_any_work(config, problem, tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    argv = ["train", "--data", str(tmp_path / "no-data"), "-o", str(tmp_path / "run"), "--config", str(path)]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"f2p train: error: {path}: {problem}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_a_good_config_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"regions": ["nose"], "local": {"batch_size": 8}}).encode())
    config = read_ensemble_config(path)
    assert config.regions == ("nose",)
    assert config.local.batch_size == 8
    assert config.aggregate.batch_size == 32  # the default, untouched
