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

from f2p_engine.ensemble import AGGREGATE, EnsembleMetrics, ensemble_metrics, softmax
from f2p_engine.errors import AssetError
from f2p_engine.evaluate.fusion import fusion_goal, fusion_section
from f2p_engine.files import atomic_output
from f2p_engine.headmodel import schema
from f2p_engine.infer.manifest import MANIFEST
from f2p_engine.infer.pipeline import Predictor
from f2p_engine.plot import bar_plot

if TYPE_CHECKING:
    from f2p_engine.synth.reader import SampleSource

METRICS_JSON = "metrics.json"
REPORT_MD = "report.md"


def evaluate_models(predictor: Predictor, source: SampleSource, batch_size: int = 64,
                    progress: Callable[[int], None] | None = None) -> EnsembleMetrics:
    """Metrics of `predictor`'s model set on every sample of `source` (see `ensemble_metrics`).

    `progress(n)` is called with the number of samples done after each batch.
    """
    # Checked before the long loop over the samples, not after it.
    missing = [p.name for p in schema.CONTINUOUS if p.name not in predictor.manifest.calibration.train_mean]
    if missing:
        raise AssetError(f"{predictor.manifest.directory / MANIFEST}: calibration.train_mean lacks {missing[0]} "
                         f"({len(missing)} parameters); retrain with `f2p train`")
    train_mean = np.asarray([predictor.manifest.calibration.train_mean[p.name] for p in schema.CONTINUOUS])
    outputs: dict[str, list[list[np.ndarray]]] = {}
    target = np.empty((len(source), len(schema.CONTINUOUS)), dtype=np.float64)
    labels = np.empty((len(source), len(schema.DISCRETE_GROUPS)), dtype=np.int64)
    for start in range(0, len(source), batch_size):
        samples = [source[i] for i in range(start, min(start + batch_size, len(source)))]
        images = np.stack([s.image for s in samples])
        landmarks = np.stack([s.landmarks for s in samples])
        stored = [s.descriptor for s in samples]
        descriptors = np.stack(stored) if all(d is not None for d in stored) else None
        for name, result in predictor.run_all(images, landmarks, descriptors).items():
            outputs.setdefault(name, []).append(result)
        target[start:start + len(samples)] = [s.continuous for s in samples]
        labels[start:start + len(samples)] = [s.discrete for s in samples]
        if progress:
            progress(len(samples))
    merged = {name: [np.concatenate(parts) for parts in zip(*batches, strict=True)]
              for name, batches in outputs.items()}
    manifest = predictor.manifest
    aggregate_probs = {g: softmax(z) for (g, _), z in zip(manifest.aggregate.layout.groups, merged[AGGREGATE][1:],
                                                          strict=True)}
    return ensemble_metrics(target=target, labels=labels, members=predictor.members(merged),
                            weights=predictor.fitted_weights, photo_weights=predictor.weights,
                            train_mean=train_mean, aggregate_probs=aggregate_probs,
                            ensemble_probs=predictor.group_probabilities(merged))


def goals(metrics: dict[str, Any]) -> dict[str, bool]:
    """The issues' acceptance goals (on synthetic data), each True when met; none without synthetic metrics."""
    met = {}
    if "fusion" in metrics:
        met["3 renders fused: L1 below the mean single-render L1 in every region"] = fusion_goal(metrics["fusion"])
    if "regions" not in metrics:
        return met
    regions = metrics["regions"]
    constant = metrics["constant_weights"]
    return {
        **met,
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
    columns = ("baseline_l1", "aggregate_l1", "local_l1", "identity_l1", "ensemble_l1", "photo_l1")
    bar_plot(names, {c.removesuffix("_l1"): [regions[r][c] or 0.0 for r in names] for c in columns},
             out / "l1_by_region.png", title="mean L1 per region (normalised units)", ylabel="L1")
    constant = metrics["constant_weights"]
    bar_plot(list(constant), {"L1 on local-model parameters": list(constant.values())},
             out / "constant_weights.png", title="ensemble weight w on the aggregate", ylabel="L1")

    lines = [f"Held-out samples: {metrics.get('samples', '?')}. L1 in normalised parameter units "
             "(0..1 = the slider's full range); baseline = predicting the training mean. Members: the "
             "aggregate CNN (full frame), the local CNNs (crops), the identity member (dlib's face-recognition "
             "descriptor, a frozen backbone trained on real faces, + a regressor: feature extraction). "
             "`ensemble`: weights fitted on renders; `photo`: the weights applied to photos (moved toward "
             "the identity member).", "",
             "## Per region: members vs ensemble (full frame vs crop vs identity)", "",
             "| region | baseline | aggregate | local | identity | ensemble | photo weights | ensemble / baseline |",
             "|---|---|---|---|---|---|---|---|"]
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


def _judge_cells(row: dict[str, Any]) -> str:
    """Table cells of one judge's `LikenessMetrics` JSON: distance, closer than default, top-1, top-5, rank."""
    keys = ("mean_distance", "closer_than_default", "top1", "top5", "mean_rank_percentile")
    return " | ".join(_cell(row[k]) for k in keys)


def likeness_summary(likeness: dict[str, Any]) -> str:
    """One line for the console: people used, and per adapter the shipped weighting's rank percentile
    (0 perfect, 0.5 chance) and closer-than-default share by every judge."""
    parts = []
    for adapter, variants in likeness["results"].items():
        row = variants.get("shipped") or next(iter(variants.values()), None)
        if row is not None:
            parts.append(f"{adapter}: " + ", ".join(
                f"{j} rank {_cell(row[j]['mean_rank_percentile'])} closer {_cell(row[j]['closer_than_default'])}"
                for j in likeness["judges"]))
    return f"likeness on {likeness['people']} faces of {likeness['photos']} photos: " + "; ".join(parts)


def _likeness_section(likeness: dict[str, Any], out: Path) -> list[str]:
    """Report lines of the real-photo likeness evaluation (`likeness.evaluate_likeness`); writes its plot."""
    judges, results = likeness["judges"], likeness["results"]
    labels = [f"{a}/{v}" for a, variants in results.items() for v in variants]
    bar_plot(labels, {j: [results[a][v][j]["mean_rank_percentile"] or 0.0 for a, vs in results.items() for v in vs]
                      for j in judges},
             out / "likeness.png", title="mean rank percentile among the photos (0 perfect, 0.5 chance)",
             ylabel="rank percentile")
    skipped = likeness["skipped"]
    lines = ["## Likeness on real photos (paper Table 4)", "",
             f"Photos: {likeness['photos']}; faces used (at least {likeness['min_face']:g} px wide): "
             f"{likeness['people']}; skipped: {len(skipped['unreadable'])} unreadable, {len(skipped['no_face'])} "
             f"without such a face. Each face's reconstruction is rendered head-on ({likeness['render_size']} px) "
             "and compared with the photo by each judge: cosine distance (lower = more alike), the share of "
             "faces whose render is closer than the default head's, re-identification top-1 / top-5 among "
             "the faces, and the mean rank percentile (share of other photos closer to a render than its own; "
             "0 perfect, 0.5 chance). The identity member reads dlib's descriptor, so the dlib judge is not "
             "independent of it: FaceNet decides.", "",
             "Variants: " + "; ".join(f"`{v}` {d}" for v, d in likeness["variants"].items()) + ".", ""]
    for judge in judges:
        lines += [f"### Judge: {judge}", "",
                  "| adapter | variant | distance | closer than default | top-1 | top-5 | rank percentile |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {a} | {v} | {_judge_cells(row[judge])} |" for a, vs in results.items() for v, row in vs.items()]
        lines.append("")
    agreements = [(a, v, row["attributes"]) for a, vs in results.items() for v, row in vs.items()
                  if "attributes" in row]
    if agreements:
        lines += _attribute_lines(agreements)
    notes = [f"- skipped: {message}" for message in skipped["unreadable"].values()]
    notes += [f"- skipped {name}: no face found" for name in skipped["no_face"]]
    sheet = likeness.get("contact_sheet")
    if sheet:
        notes += ["", f"Each face (aligned photo) beside its render, {sheet['adapter']} adapter, {sheet['variant']}: "
                      f"![photo | render]({sheet['file']})"]
    return [*lines, *([*notes, ""] if notes else []), "![likeness](likeness.png)", ""]


def _agreement_cell(agreement: dict[str, Any]) -> str:
    return f"{_cell(agreement['right'])} ({agreement['faces']})" if agreement["faces"] else "-"


def _attribute_lines(agreements: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """Report lines of the agreement with the hand labels (`labels.attribute_agreement`), overall and per group."""
    checks = list(agreements[0][2]["overall"])
    header = "| " + " | ".join(checks) + " |"
    rule = "|---" * (len(checks) + 2) + "|"
    lines = ["### Agreement with the hand labels", "",
             "Share right (faces labelled for it): gender on the labelled side of 0.5; decisive gender "
             "|Gender - 0.5| >= 0.3; age bracket (child < 15, 15-39, 40-59, 60+ years through MakeHuman's age "
             "map); child age: children get Age < 0.19; skin tone class of the skin material (caucasian light, "
             "asian medium, african dark); eye colour light/dark of the eye material; hair length (none, short, "
             "medium, long) of the hair style; beard yes/no (stubble counts); hair colour class (dark: black, "
             "dark brown; light: light brown, blonde; red; grey: grey, white).", "",
             "| adapter | variant " + header, rule]
    lines += [f"| {a} | {v} | " + " | ".join(_agreement_cell(g["overall"][c]) for c in checks) + " |"
              for a, v, g in agreements]
    lines += ["", "By group (labelled women, men, light, medium and dark skin):", "",
              "| adapter | variant | group " + header, rule + "---|"]
    lines += [f"| {a} | {v} | {group} | " + " | ".join(_agreement_cell(by[c]) for c in checks) + " |"
              for a, v, g in agreements for group, by in g["groups"].items()]
    lines += ["", "Wrong gender / age bracket:", ""]
    lines += [f"- {a}/{v}: gender {', '.join(g['overall']['gender']['wrong'][:10]) or 'none'}; age bracket "
              f"{', '.join(g['overall']['age bracket']['wrong'][:10]) or 'none'}"
              f"{' ...' if len(g['overall']['age bracket']['wrong']) > 10 else ''}" for a, v, g in agreements]
    return [*lines, ""]


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
    if "fusion" in metrics:
        lines += fusion_section(metrics["fusion"])
    if "likeness" in metrics:
        lines += _likeness_section(metrics["likeness"], out)
    met = goals(metrics)
    if met:
        lines += ["## Goals", ""] + [f"- [{'x' if ok else ' '}] {goal}" for goal, ok in met.items()]
    with atomic_output(out / REPORT_MD) as tmp:
        tmp.write_text("\n".join(lines).rstrip("\n") + "\n")
    with atomic_output(out / METRICS_JSON) as tmp:
        tmp.write_text(json.dumps({**metrics, "goals": met}, indent=2) + "\n")
