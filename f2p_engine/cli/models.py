"""`f2p train`, `f2p evaluate`, `f2p predict`: the decomposition ensemble's life cycle."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.cli import positive_int, warn, wrote
from f2p_engine.errors import F2PError, InputError

if TYPE_CHECKING:  # torch: only training needs these
    from f2p_engine.infer.manifest import ModelEntry
    from f2p_engine.train.run import EnsembleConfig, EnsembleResult


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train", help="train the aggregate and local models and fit the ensemble",
        description="Train the aggregate model and one local model per region on the synthetic dataset in "
                    "DATA, fit the ensemble weights on a holdout split, export ONNX and write "
                    "OUT/models/ (models + manifest.json, ready to copy to resources/models/). Per model: "
                    "OUT/<name>/config.json, checkpoint.pt, log.csv, loss.png. Rerunning the same command "
                    "resumes from the checkpoints.")
    train.add_argument("--data", type=Path, required=True, metavar="DIR", help="dataset written by f2p generate")
    train.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    train.add_argument("--config", type=Path, default=None, metavar="CONFIG.json",
                       help="ensemble config overrides (keys of f2p_engine.train.run.EnsembleConfig; "
                            "'aggregate' and 'local' take TrainConfig keys)")
    train.add_argument("--threads", type=positive_int, default=2, help="torch CPU threads (default 2)")
    train.set_defaults(run=run_train)

    evaluate = subparsers.add_parser(
        "evaluate", help="measure a model set on held-out synthetic data and/or real photos",
        description="Run the models in MODELS (onnxruntime, as f2p predict does) and write OUT/metrics.json, "
                    "OUT/report.md and plots. With --data: on every sample of the synthetic dataset DATA, "
                    "per-region L1 of baseline, aggregate, local and ensemble, constant vs learned weights, "
                    "accuracies. With --photos: every face in PHOTOS is reconstructed with each domain adapter "
                    "and each weighting of the ensemble's members, rendered head-on and compared with the "
                    "photo by two identity judges (dlib's ResNet, FaceNet): distance, share closer than the "
                    "default head, re-identification top-1/top-5, mean rank percentile. Give --data, --photos "
                    "or both.")
    evaluate.add_argument("--data", type=Path, default=None, metavar="DIR", help="dataset written by f2p generate")
    evaluate.add_argument("--photos", type=Path, default=None, metavar="DIR",
                          help="folder of face photos (.jpg .jpeg .png .bmp .webp); unreadable ones and "
                               "ones without a face are skipped and listed in the report")
    evaluate.add_argument("--max-photos", type=positive_int, default=None, metavar="N",
                          help="only the first N photos of PHOTOS by name")
    evaluate.add_argument("--min-face", type=float, default=0.0, metavar="PX",
                          help="faces narrower than PX pixels are left out (default 0: every face)")
    evaluate.add_argument("--genders", type=Path, default=None, metavar="CSV",
                          help="file,gender labels (female/male) of faces whose gender is obvious: reports the "
                               "share whose predicted Gender is on the right side of 0.5")
    evaluate.add_argument("--adapters", default=None, metavar="A,B",
                          help="domain adapters to compare (default: all)")
    evaluate.add_argument("--variants", default=None, metavar="V,W",
                          help="member weightings to compare (default: all of "
                               "aggregate,cnn,identity,fitted,shipped)")
    evaluate.add_argument("--models", type=Path, default=None, metavar="DIR",
                          help="model folder with manifest.json (default: the shipped models)")
    evaluate.add_argument("--out", "-o", type=Path, required=True, metavar="DIR", dest="output")
    evaluate.set_defaults(run=run_evaluate, usage_error=evaluate.error)

    predict = subparsers.add_parser(
        "predict", help="photo -> MakeHuman recipe",
        description="Find the largest face in PHOTO, align it, adapt it, run the ensemble and write a "
                    "MakeHuman .mhm recipe (and optionally JSON with the recipe, confidences and timings).")
    predict.add_argument("photo", type=Path, metavar="PHOTO")
    predict.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.mhm")
    predict.add_argument("--json", type=Path, default=None, metavar="OUT.json")
    predict.add_argument("--adapter", default=DEFAULT_ADAPTER, metavar="NAME",
                         help=f"domain adapter: none or photometric (default: {DEFAULT_ADAPTER})")
    predict.add_argument("--models", type=Path, default=None, metavar="DIR",
                         help="model folder with manifest.json (default: the shipped models)")
    predict.set_defaults(run=run_predict)


def _load_config(path: Path | None) -> EnsembleConfig:
    from f2p_engine.train.run import EnsembleConfig

    config = EnsembleConfig().to_dict()
    if path is None:
        return EnsembleConfig.from_dict(config)
    try:
        overrides = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable config ({exc})") from None
    unknown = set(overrides) - set(config)
    if unknown:
        raise InputError(f"{path}: unknown keys {sorted(unknown)} (known: {sorted(config)})")
    for key, value in overrides.items():
        config[key] = {**config[key], **value} if isinstance(config[key], dict) else value
    try:
        return EnsembleConfig.from_dict(config)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: {exc}") from None


def model_entries(result: EnsembleResult) -> list[ModelEntry]:
    """Manifest entries (sha256 still empty) of a trained ensemble's ONNX files."""
    from f2p_engine.ensemble import IDENTITY
    from f2p_engine.infer.manifest import ModelEntry

    entries = []
    for name, path in result.onnx_files.items():
        net = result.nets[name]
        if name == IDENTITY:  # reads a descriptor: no image preprocessing
            entries.append(ModelEntry(name=name, file=path.name, sha256="", net=f"identity-{net.kind}",
                                      preprocessing=None, layout=net.layout))
        else:
            entries.append(ModelEntry(name=name, file=path.name, sha256="", net=net.config["name"],
                                      preprocessing=net.preprocessing, layout=net.layout))
    return entries


def run_train(args: argparse.Namespace) -> int:
    try:
        import torch
    except ImportError:
        raise F2PError("training needs torch, which is not installed: pip install torch==2.13.0 "
                       "(or the f2p[train] extra)") from None
    from tqdm import tqdm

    from f2p_engine.infer.manifest import write_manifest
    from f2p_engine.synth.reader import DatasetSource
    from f2p_engine.train.run import train_ensemble

    config = _load_config(args.config)
    source = DatasetSource.open(args.data)
    torch.set_num_threads(args.threads)
    total = sum(m.total_epochs for m in config.members().values()) + 1  # + the identity member
    began = time.perf_counter()
    with tqdm(total=total, desc="train", unit="epoch") as bar:
        def progress(message: str) -> None:
            bar.set_postfix_str(message[:60])
            bar.update(1)

        result = train_ensemble(config, source, args.output, progress)
    models = args.output / "models"
    entries = model_entries(result)
    data = {**source.info, "holdout_fraction": config.holdout_fraction, "split_seed": config.split_seed,
            "train_seconds": round(time.perf_counter() - began, 1)}
    write_manifest(models, entries, continuous_weights=result.continuous_weights, group_weights=result.group_weights,
                   calibration=result.calibration, data=data, metrics={**result.metrics.to_json(), **result.records})
    size = sum(p.stat().st_size for p in models.iterdir()) / 2**20
    print(f"models: {models} ({len(entries)} ONNX files, {size:.1f} MB); holdout ensemble L1 per region: "
          + ", ".join(f"{r} {e.ensemble:.3f}" for r, e in result.metrics.regions.items()))
    return 0


def _names(text: str | None) -> list[str] | None:
    """"a,b" -> ["a", "b"]; None stays None (the default: all)."""
    return None if text is None else [name.strip() for name in text.split(",") if name.strip()]


def run_evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from f2p_engine.evaluate.likeness import evaluate_likeness, photo_files, read_gender_labels
    from f2p_engine.evaluate.report import evaluate_models, goals, likeness_summary, write_report
    from f2p_engine.files import atomic_directory
    from f2p_engine.infer.pipeline import Predictor

    if args.data is None and args.photos is None:
        args.usage_error("give --data DIR, --photos DIR or both")
    # Open every input before the long work, so a bad folder fails at once.
    source = None
    if args.data is not None:
        from f2p_engine.synth.reader import DatasetSource

        source = DatasetSource.open(args.data)
    photos = photo_files(args.photos, args.max_photos) if args.photos is not None else []
    genders = read_gender_labels(args.genders) if args.genders is not None else None
    predictor = Predictor.load(args.models, threads=2)
    metrics: dict[str, Any] = {}
    if source is not None:
        with tqdm(total=len(source), desc="evaluate", unit="sample") as bar:
            held_out = evaluate_models(predictor, source, progress=bar.update)
        metrics = {**held_out.to_json(), "transfer": predictor.manifest.metrics.get("transfer", {}),
                   "data": source.info}
    if photos:
        with tqdm(total=len(photos), desc="likeness", unit="photo") as bar:
            metrics["likeness"] = evaluate_likeness(
                predictor, photos, _names(args.adapters), variants=_names(args.variants), min_face=args.min_face,
                genders=genders, progress=bar.update).to_json()
    with atomic_directory(args.output, inputs=[p for p in (args.genders,) if p is not None]) as staging:
        write_report(metrics, staging)  # metrics.json, report.md and plots appear together
    report = args.output / "report.md"
    if source is not None:
        print(f"{report}: {sum(goals(metrics).values())}/{len(goals(metrics))} goals met")
    if photos:
        print(f"{report}: {likeness_summary(metrics['likeness'])}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from f2p_engine.face.image import load_image
    from f2p_engine.files import atomic_outputs, check_outputs
    from f2p_engine.infer.pipeline import Predictor, predict_photo
    from f2p_engine.recipe import Recipe, write_json, write_mhm

    outputs = [args.output] if args.json is None else [args.output, args.json]
    check_outputs(outputs, inputs=[args.photo])  # before the work: a typo must not cost the photo
    began = time.perf_counter()
    predictor = Predictor.load(args.models)
    loaded = time.perf_counter()
    image = load_image(args.photo)
    read = time.perf_counter()
    prediction, face = predict_photo(predictor, image, adapter=args.adapter, base=Recipe(name=args.photo.stem))
    if face.faces_found > 1:
        warn("predict", f"{args.photo}: {face.faces_found} faces found, using the largest")
    timings = {"load_models": loaded - began, "read_image": read - loaded, **prediction.timings}
    extra = {"source": str(args.photo), "adapter": args.adapter,
             "confidence": {r: round(c, 4) for r, c in prediction.confidence.items()},
             "probabilities": {g: [round(float(p), 4) for p in ps] for g, ps in prediction.probabilities.items()},
             "timings_ms": {k: round(v * 1000, 2) for k, v in timings.items()}}
    # Both files appear together or neither does (a read-only folder for the JSON keeps the .mhm out too).
    with atomic_outputs(*outputs, inputs=[args.photo]) as staged:
        write_mhm(prediction.recipe, staged[0])
        if args.json is not None:
            write_json(prediction.recipe, staged[1], extra=extra)
    wrote("predict", *outputs)
    return 0
