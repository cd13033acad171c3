"""Training: multi-part loss, ensemble weight fitting, training loop, checkpoints, export, plots."""

import csv
import json
from dataclasses import replace

import numpy as np
import pytest
from drawn_faces import drawn_faces

torch = pytest.importorskip("torch")

from f2p_engine.ensemble import (  # noqa: E402
    MEMBERS,
    combine_members,
    fit_member_weights,
    region_l1,
)
from f2p_engine.errors import InputError  # noqa: E402
from f2p_engine.headmodel import schema  # noqa: E402
from f2p_engine.nets.registry import create_net  # noqa: E402
from f2p_engine.nets.spec import FACE, output_layout  # noqa: E402
from f2p_engine.plot import line_plot  # noqa: E402
from f2p_engine.train.data import CropDataset, Subset, split_indices  # noqa: E402
from f2p_engine.train.export import ExportError, export_onnx  # noqa: E402
from f2p_engine.train.loop import (  # noqa: E402
    TrainConfig,
    load_checkpoint,
    net_from_checkpoint,
    seed_everything,
    train_model,
    train_one_epoch,
)
from f2p_engine.train.loss import MultiPartLoss  # noqa: E402


def test_fit_member_weights_recovers_known_weights():
    rng = np.random.default_rng(1)
    true = np.array([[0.0, 0.3, 1.0, -0.4, 1.7],  # sign and range unrestricted
                     [0.5, 0.5, 0.0, 1.0, -1.0]])
    true = np.vstack([true, 1.0 - true.sum(axis=0)])  # three members, summing to 1
    members = rng.normal(size=(3, 500, 5))
    target = np.einsum("kp,knp->np", true, members) + rng.normal(scale=0.01, size=(500, 5))
    np.testing.assert_allclose(fit_member_weights(members, target), true, atol=0.01)


def test_fit_member_weights_leaves_out_members_that_do_not_predict():
    rng = np.random.default_rng(2)
    members, target = rng.normal(size=(3, 50, 3)), rng.normal(size=(50, 3))
    members[1, :, 1] = np.nan  # no local model for parameter 1
    members[2, :, 2] = np.nan  # and only the aggregate for parameter 2
    members[1, :, 2] = np.nan
    weights = fit_member_weights(members, target)
    assert weights[1, 1] == 0.0
    assert weights[:, 2].tolist() == [1.0, 0.0, 0.0]
    np.testing.assert_allclose(weights.sum(axis=0), 1.0)
    same = np.repeat(members[:1], 3, axis=0)  # identical predictions: no information, equal shares
    np.testing.assert_allclose(fit_member_weights(same, target), 1 / 3)
    # Combining skips what is missing: parameter 2 is the aggregate alone.
    np.testing.assert_allclose(combine_members(members, weights)[:, 2], members[0, :, 2])


def test_group_weights_recover_a_known_mix():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 400)
    one_hot = np.eye(4)[labels]
    aggregate = rng.dirichlet(np.ones(4), 400)
    local = (one_hot - 0.25 * aggregate) / 0.75  # so that 0.25 * aggregate + 0.75 * local == one_hot
    flat = np.stack([aggregate.reshape(-1, 1), local.reshape(-1, 1), np.full((1600, 1), np.nan)])
    np.testing.assert_allclose(fit_member_weights(flat, one_hot.reshape(-1, 1))[:, 0], [0.25, 0.75, 0.0], atol=1e-9)


def test_loss_terms_are_region_l1_and_cross_entropy():
    layout = output_layout("eyes")
    loss = MultiPartLoss(layout, "l1")
    rng = np.random.default_rng(4)
    predicted, target = rng.uniform(size=(6, 34)), rng.uniform(size=(6, 34))
    logits, labels = rng.normal(size=(6, 6)), rng.integers(0, 6, (6, 1))
    outputs = (torch.tensor(predicted, dtype=torch.float32), torch.tensor(logits, dtype=torch.float32))
    total, terms = loss(outputs, torch.tensor(target, dtype=torch.float32), torch.tensor(labels))
    assert list(terms) == ["slider_eyes", "ce_eye_colour"]
    assert terms["slider_eyes"] == pytest.approx(region_l1(predicted, target, layout.params)["eyes"], rel=1e-5)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert terms["ce_eye_colour"] == pytest.approx(-log_probs[np.arange(6), labels[:, 0]].mean(), rel=1e-5)
    assert float(total.detach()) == pytest.approx(sum(terms.values()), rel=1e-5)  # log-scales start at 0
    scaled = MultiPartLoss(layout, "l1", adaptive=False, discrete_weight=0.05)
    total, _ = scaled(outputs, torch.tensor(target, dtype=torch.float32), torch.tensor(labels))
    expected = terms["slider_eyes"] + 0.05 * terms["ce_eye_colour"]
    assert float(total.detach()) == pytest.approx(expected, rel=1e-5)

    aggregate = MultiPartLoss(output_layout(FACE), "l2")
    assert aggregate.term_names[:2] == ("slider_macro", "slider_head")
    # + one cross-entropy term per predicted group (skin, eye colour, eyebrows, hair, hair colour, beard)
    assert len(aggregate.term_names) == len(schema.REGIONS) + len([g for g in schema.DISCRETE_GROUPS if g.predicted])


def test_adaptive_weights_follow_the_term_magnitudes():
    """With uncertainty weighting, each learned scale converges to log(term)."""
    loss = MultiPartLoss(output_layout("nose"), "l1")  # sliders only, no group (21 of them)
    optimiser = torch.optim.Adam(loss.parameters(), lr=0.05)
    predicted, target = torch.full((4, 21), 0.5), torch.full((4, 21), 0.7)  # L1 = 0.2
    for _ in range(400):
        total, _ = loss((predicted,), target, torch.zeros((4, 0), dtype=torch.int64))
        optimiser.zero_grad()
        total.backward()
        optimiser.step()
    assert float(loss.log_scales[0].detach()) == pytest.approx(np.log(0.2), abs=0.05)


def test_loss_decreases_on_a_tiny_real_batch():
    seed_everything(0)
    source = drawn_faces(16, size=64)
    net = create_net("smallcnn", crop=FACE, input_size=32, hidden=64, dropout=0.0)
    dataset = CropDataset(source, net.preprocessing, net.layout)
    batch = [tuple(torch.stack(parts) for parts in zip(*[dataset[i] for i in range(16)], strict=True))]
    loss = MultiPartLoss(net.layout)
    optimiser = torch.optim.Adam(list(net.parameters()) + list(loss.parameters()), lr=2e-3)
    net.train()
    first = train_one_epoch(net, loss, batch, optimiser)
    for _ in range(10):
        last = train_one_epoch(net, loss, batch, optimiser)
    assert last < first - 0.5


def test_split_is_disjoint_and_seeded():
    train, val = split_indices(100, 0.2, seed=7)
    assert len(val) == 20
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(100))
    np.testing.assert_array_equal(split_indices(100, 0.2, seed=7)[1], val)


class _Stop(Exception):
    pass


def test_train_model_logs_checkpoints_and_resumes(tmp_path):
    source = drawn_faces(40, size=64, seed=5)
    train_idx, val_idx = split_indices(len(source), 0.25, seed=0)
    train, val = Subset(source, train_idx), Subset(source, val_idx)
    config = TrainConfig(net="mobilenetv2_s16", crop="eyes", input_size=24, hidden=32, pretrained=False,
                         feature_epochs=0, finetune_epochs=3, batch_size=16)

    def stop_after_two(message):
        if "epoch 2/3" in message:
            raise _Stop

    with pytest.raises(_Stop):
        train_model(config, train, val, tmp_path, progress=stop_after_two)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 1
    net = train_model(config, train, val, tmp_path)  # resumes at the third epoch

    with (tmp_path / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert {"train_loss", "val_loss", "l1_eyes", "acc_eye_colour"} <= set(rows[0])
    assert json.loads((tmp_path / "config.json").read_text())["crop"] == "eyes"
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    rebuilt = net_from_checkpoint(state)
    x = torch.randn(2, 3, net.preprocessing.height, net.preprocessing.width)
    with torch.no_grad():
        np.testing.assert_allclose(rebuilt(x)[0].numpy(), net(x)[0].numpy())
    with pytest.raises(InputError, match="another config"):
        train_model(replace(config, hidden=64), train, val, tmp_path)


def test_feature_phase_needs_pretrained_weights():
    with pytest.raises(ValueError, match="from scratch"):
        TrainConfig(net="smallcnn", feature_epochs=5)


def test_feature_phase_trains_sliders_and_discrete_groups_need_fine_tuning(tmp_path):
    source = drawn_faces(12, size=64, seed=3)
    train, val = Subset(source, np.arange(8)), Subset(source, np.arange(8, 12))
    features_only = TrainConfig(net="mobilenetv2_s16", crop="eyes", input_size=24, hidden=16, pretrained=True,
                                feature_epochs=1, finetune_epochs=0, batch_size=4)
    with pytest.raises(InputError, match="finetune_epochs"):
        train_model(features_only, train, val, tmp_path / "eyes")
    train_model(replace(features_only, crop="nose"), train, val, tmp_path / "nose")
    with (tmp_path / "nose" / "log.csv").open() as handle:
        assert [r["phase"] for r in csv.DictReader(handle)] == ["features"]


def test_export_refuses_a_disagreeing_graph(tmp_path):
    net = create_net("smallcnn", crop="nose", input_size=16)
    example = torch.randn(1, 3, net.preprocessing.height, net.preprocessing.width)
    with pytest.raises(ExportError, match="differ"):
        export_onnx(net, tmp_path / "net.onnx", example, tolerance=-1.0)
    assert list(tmp_path.iterdir()) == []


def test_line_plot_draws_each_series(tmp_path):
    from PIL import Image

    path = tmp_path / "plot.png"
    line_plot({"a": ([1, 2, 3], [3.0, 2.0, 1.0]), "b": ([1, 2, 3], [1.0, 1.5, 2.5])}, path,
              title="t", xlabel="x", ylabel="y")
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert pixels.shape == (420, 720, 3)
    blue = np.all(pixels == (0x1F, 0x77, 0xB4), axis=-1).sum()
    red = np.all(pixels == (0xD6, 0x27, 0x28), axis=-1).sum()
    assert blue > 200
    assert red > 200


def test_train_ensemble_exports_models_and_fits_weights(tmp_path):
    from f2p_engine.cli.models import model_entries
    from f2p_engine.infer.manifest import write_manifest
    from f2p_engine.infer.pipeline import Predictor
    from f2p_engine.train.run import EnsembleConfig, train_ensemble

    member = TrainConfig(net="smallcnn", input_size=24, hidden=32, pretrained=False, feature_epochs=0,
                         finetune_epochs=1, batch_size=16)
    config = EnsembleConfig(aggregate=member, local=member, regions=("eyes", "nose"), holdout_fraction=0.3)
    result = train_ensemble(config, drawn_faces(30, size=64, seed=9), tmp_path)

    assert sorted(result.onnx_files) == ["aggregate", "eyes", "identity", "nose"]
    assert set(result.continuous_weights) == {p.name for p in schema.CONTINUOUS}
    weights = np.asarray(list(result.continuous_weights.values())).T  # (K, P)
    np.testing.assert_allclose(weights.sum(axis=0), 1.0)
    chin = [i for i, p in enumerate(schema.CONTINUOUS) if p.region == "chin"]
    assert (weights[MEMBERS.index("local"), chin] == 0.0).all()  # no chin model in this config
    assert set(result.group_weights) == {g.name for g in schema.DISCRETE_GROUPS if g.predicted}
    np.testing.assert_allclose(sum(result.group_weights["eye_colour"]), 1.0)
    metrics = {**result.metrics.to_json(), **result.records}  # as the model manifest stores them
    assert set(metrics["regions"]) == set(schema.REGIONS)
    assert metrics["regions"]["chin"]["local_l1"] is None
    assert metrics["regions"]["chin"]["identity_l1"] is not None
    assert metrics["identity"]["kind"] == "ridge"
    assert set(metrics["constant_weights"]) == {"0.0", "0.5", "1.0", "learned"}
    # Least squares on the holdout: the learned weights fit it at least as well as any constant.
    assert metrics["constant_weights"]["learned"] <= min(metrics["constant_weights"][k] for k in ("0.0", "0.5", "1.0"))
    assert metrics["transfer"]["nose"]["fine_tuning_l1"] is not None
    assert metrics["transfer"]["identity"]["fine_tuning_l1"] is None  # a frozen real-face backbone
    assert metrics["transfer"]["identity"]["feature_extraction_l1"] == metrics["identity"]["validation_l1"]

    write_manifest(tmp_path / "models", model_entries(result), continuous_weights=result.continuous_weights,
                   group_weights=result.group_weights, calibration=result.calibration, data={}, metrics=metrics)
    predictor = Predictor.load(tmp_path / "models")
    sample = drawn_faces(1, size=64, seed=10)[0]
    assert set(predictor.predict_aligned(sample.image, sample.landmarks).confidence) == set(schema.REGIONS)

    # Evaluation through onnxruntime on other data reports the same structure, and the report renders.
    from f2p_engine.evaluate.report import evaluate_models, write_report

    evaluated = evaluate_models(predictor, drawn_faces(10, size=64, seed=11), batch_size=4)
    assert evaluated.samples == 10
    assert evaluated.regions["nose"].members[MEMBERS.index("local")] is not None
    assert evaluated.regions["nose"].photo == pytest.approx(evaluated.regions["nose"].ensemble)
    write_report(evaluated.to_json(), tmp_path / "report")
    saved = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert saved["regions"]["eyes"]["ensemble_l1"] == pytest.approx(evaluated.regions["eyes"].ensemble)
    assert len(saved["goals"]) == 4
    assert "| nose |" in (tmp_path / "report" / "report.md").read_text()
