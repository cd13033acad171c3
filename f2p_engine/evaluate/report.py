"""Evaluation reports: shipped ONNX models + held-out synthetic data -> metrics.json, report.md and plots.

Runs the same onnxruntime `Predictor` as `f2p predict` (no torch) over every sample, then the
paper's comparisons (Tables 2 and 3): per-region L1 of the mean-prediction baseline, the
aggregate model, the local models and the ensemble; constant weights 0 / 0.5 / 1 against the
learned ones; discrete top-1 accuracy; and, from the training records in the manifest, feature
extraction against fine-tuning. L1 is in normalised parameter units ([0, 1] = full range).
`write_report` also writes the real-photo likeness table (Table 4, `likeness.evaluate_likeness`)
when the metrics hold one, alone or next to the synthetic tables.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from f2p_engine.files import atomic_output
from f2p_engine.headmodel import schema
from f2p_engine.infer.manifest import AGGREGATE
from f2p_engine.infer.pipeline import Predictor
from f2p_engine.train.ensemble import assemble_local
from f2p_engine.train.metrics import ensemble_metrics, softmax
from f2p_engine.train.plot import bar_plot

if TYPE_CHECKING:  # torch-free at run time: a photo-only evaluation needs no training code
    from f2p_engine.train.data import SampleSource

METRICS_JSON = "metrics.json"
REPORT_MD = "report.md"


def evaluate_models(predictor: Predictor, source: SampleSource, batch_size: int = 64,
                    progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Metrics of `predictor`'s model set on every sample of `source` (see `ensemble_metrics`).

    `progress(n)` is called with the number of samples done after each batch.
    """
    outputs: dict[str, list[list[np.ndarray]]] = {}
    target = np.empty((len(source), len(schema.CONTINUOUS)), dtype=np.float64)
    labels = np.empty((len(source), len(schema.DISCRETE_GROUPS)), dtype=np.int64)
    for start in range(0, len(source), batch_size):
        samples = [source[i] for i in range(start, min(start + batch_size, len(source)))]
        images = np.stack([s.image for s in samples])
        landmarks = np.stack([s.landmarks for s in samples])
        for name, result in predictor.run_all(images, landmarks).items():
            outputs.setdefault(name, []).append(result)
        target[start:start + len(samples)] = [s.continuous for s in samples]
        labels[start:start + len(samples)] = [s.discrete for s in samples]
        if progress:
            progress(len(samples))
    merged = {name: [np.concatenate(parts) for parts in zip(*batches, strict=True)]
              for name, batches in outputs.items()}
    manifest = predictor.manifest
    _, ensemble_probs, _ = predictor.combine(merged)
    aggregate_probs = {g: softmax(z) for (g, _), z in zip(manifest.aggregate.layout.groups, merged[AGGREGATE][1:],
                                                          strict=True)}
    local = assemble_local({n: o[0] for n, o in merged.items() if n != AGGREGATE},
                           {m.name: m.layout for m in manifest.models})
    train_mean = np.asarray([manifest.calibration["train_mean"][p.name] for p in schema.CONTINUOUS])
    metrics = ensemble_metrics(target=target, labels=labels, aggregate=merged[AGGREGATE][0], local=local,
                               weights=predictor.weights, train_mean=train_mean, aggregate_probs=aggregate_probs,
                               ensemble_probs=ensemble_probs)
    metrics["transfer"] = manifest.metrics.get("transfer", {})
    metrics["samples"] = len(source)
    return metrics


def goals(metrics: dict[str, Any]) -> dict[str, bool]:
    """The issue's acceptance goals (on held-out synthetic data), each True when met; none without
    synthetic metrics."""
    if "regions" not in metrics:
        return {}
    regions = metrics["regions"]
    constant = metrics["constant_weights"]
    return {
        "ensemble <= 0.5 x baseline in every region": all(r["ensemble_l1"] <= 0.5 * r["baseline_l1"]
                                                          for r in regions.values()),
        "ensemble <= aggregate in every region": all(r["ensemble_l1"] <= r["aggregate_l1"] + 1e-12
                                                     for r in regions.values()),
        "learned weights beat 0, 0.5 and 1": all(constant["learned"] < constant[k] for k in ("0.0", "0.5", "1.0")),
        "top-1 accuracy >= 0.9 for every group": all(g["accuracy"] >= 0.9 for g in metrics["discrete"].values()),
    }


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _synthetic_section(metrics: dict[str, Any], out: Path) -> list[str]:
    """Report lines of the held-out synthetic evaluation; writes its two plots into `out`."""
    regions = metrics["regions"]
    names = list(regions)
    columns = ("baseline_l1", "aggregate_l1", "local_l1", "ensemble_l1")
    bar_plot(names, {c.removesuffix("_l1"): [regions[r][c] for r in names] for c in columns},
             out / "l1_by_region.png", title="mean L1 per region (normalised units)", ylabel="L1")
    constant = metrics["constant_weights"]
    bar_plot(list(constant), {"L1 on local-model parameters": list(constant.values())},
             out / "constant_weights.png", title="ensemble weight w on the aggregate", ylabel="L1")

    lines = [f"Held-out samples: {metrics.get('samples', '?')}. L1 in normalised parameter units "
             "(0..1 = the slider's full range); baseline = predicting the training mean.", "",
             "## Per region: aggregate vs local vs ensemble (full frame vs crop)", "",
             "| region | baseline | aggregate | local | ensemble | ensemble / baseline |", "|---|---|---|---|---|---|"]
    for region in names:
        row = regions[region]
        lines.append(f"| {region} | " + " | ".join(_cell(row[c]) for c in columns)
                     + f" | {row['ensemble_l1'] / row['baseline_l1']:.2f} |")
    lines += ["", "![L1 per region](l1_by_region.png)", "", "## Constant vs learned ensemble weights", "",
              "| w on aggregate | L1 (parameters with a local model) |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in constant.items()]
    lines += ["", "![constant weights](constant_weights.png)", "", "## Discrete groups (top-1 accuracy)", "",
              "| group | ensemble | aggregate |", "|---|---|---|"]
    lines += [f"| {g} | {v['accuracy']:.3f} | {v['aggregate_accuracy']:.3f} |" for g, v in metrics["discrete"].items()]
    if metrics.get("transfer"):
        lines += ["", "## Feature extraction vs fine-tuning (validation L1 at the end of each phase, training holdout)",
                  "", "| model | feature extraction | fine-tuning |", "|---|---|---|"]
        lines += [f"| {m} | {_cell(v['feature_extraction_l1'])} | {_cell(v['fine_tuning_l1'])} |"
                  for m, v in metrics["transfer"].items()]
    return [*lines, ""]


def _likeness_rows(likeness: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The likeness table's rows, (label, summary with "photos", "mean_distance", "median_distance"):
    each adapter's own reconstructions, then the mean head and each adapter's other-photo baseline."""
    rows = [(f"adapter {a}: own reconstruction", row) for a, row in likeness["adapters"].items()]
    rows.append(("baseline: mean head (default recipe)", likeness["mean_head"]))
    return rows + [(f"baseline: another photo's reconstruction ({a})", row)
                   for a, row in likeness["other_reconstruction"].items()]


def likeness_summary(likeness: dict[str, Any]) -> str:
    """One line for the console: photos used, mean / median cosine distance of every table row."""
    return (f"likeness on {likeness['used']}/{likeness['photos']} photos, mean/median cosine distance: "
            + "; ".join(f"{label} {_cell(row['mean_distance'])}/{_cell(row['median_distance'])}"
                        for label, row in _likeness_rows(likeness)))


def _likeness_section(likeness: dict[str, Any], out: Path) -> list[str]:
    """Report lines of the real-photo likeness evaluation (`likeness.evaluate_likeness`); writes its plot."""
    adapters = list(likeness["adapters"])
    others = likeness["other_reconstruction"]
    bar_plot(adapters, {"own reconstruction": [likeness["adapters"][a]["mean_distance"] for a in adapters],
                        "another photo's reconstruction": [others[a]["mean_distance"] for a in adapters],
                        "mean head": [likeness["mean_head"]["mean_distance"]] * len(adapters)},
             out / "likeness.png", title="mean cosine distance, photo vs render (lower = more alike)",
             ylabel="cosine distance")
    skipped = likeness["skipped"]
    lines = ["## Likeness on real photos (paper Table 4)", "",
             f"Photos: {likeness['photos']}; used: {likeness['used']}; skipped: {len(skipped['unreadable'])} "
             f"unreadable, {len(skipped['no_face'])} without a face. Cosine distance between the dlib identity "
             "descriptor of the photo's largest face and that of a head-on render of the reconstruction "
             f"({likeness['render_size']} px); lower = more alike.", "",
             "| reconstruction | photos | mean distance | median distance |", "|---|---|---|---|"]
    lines += [f"| {label} | {row['photos']} | {_cell(row['mean_distance'])} | {_cell(row['median_distance'])} |"
              for label, row in _likeness_rows(likeness)]
    notes = [f"- skipped: {message}" for message in skipped["unreadable"].values()]
    notes += [f"- skipped {name}: no face found" for name in skipped["no_face"]]
    notes += [f"- {name}: no face found in the render ({adapter}), left out of that adapter's rows"
              for adapter, names in skipped["no_face_in_render"].items() for name in names]
    return [*lines, *(["", *notes] if notes else []), "", "![likeness](likeness.png)", ""]


def write_report(metrics: dict[str, Any], out_dir: str | os.PathLike[str], title: str = "f2p evaluation") -> None:
    """Write `metrics.json`, `report.md` and plots into `out_dir`.

    `metrics` holds the synthetic evaluation (`evaluate_models`, plots `l1_by_region.png` and
    `constant_weights.png`), the real-photo one under "likeness" (`evaluate_likeness`, plot
    `likeness.png`), or both.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", ""]
    if "regions" in metrics:
        lines += _synthetic_section(metrics, out)
    if "likeness" in metrics:
        lines += _likeness_section(metrics["likeness"], out)
    met = goals(metrics)
    if met:
        lines += ["## Goals", ""] + [f"- [{'x' if ok else ' '}] {goal}" for goal, ok in met.items()]
    with atomic_output(out / REPORT_MD) as tmp:
        tmp.write_text("\n".join(lines).rstrip("\n") + "\n")
    with atomic_output(out / METRICS_JSON) as tmp:
        tmp.write_text(json.dumps({**metrics, "goals": met}, indent=2) + "\n")
