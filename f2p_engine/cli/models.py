"""`f2p train`, `f2p evaluate`, `f2p predict`: the decomposition ensemble's life cycle."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.cli import positive_float, positive_int, warn, wrote
from f2p_engine.errors import F2PError, InputError
from f2p_engine.infer.batch import REPORT_NAME

if TYPE_CHECKING:  # torch: only training needs these
    from f2p_engine.infer.manifest import ModelEntry
    from f2p_engine.infer.pipeline import Prediction
    from f2p_engine.train.run import EnsembleResult


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train", help="train the aggregate and local models and fit the ensemble",
        description="Train the aggregate model and one local model per region on the synthetic dataset in "
                    "DATA, fit the ensemble weights on a holdout split, export ONNX and write "
                    "OUT/models/ (models + manifest.json, ready to copy to resources/models/). Per model: "
                    "OUT/<name>/config.json, checkpoint.pt, log.csv, loss.png. Rerunning the same command "
                    "resumes from the checkpoints. Under torchrun (torchrun --nproc_per_node=N -m f2p_engine "
                    "train ...) each model trains with DistributedDataParallel (gloo, CPU) and rank 0 writes.")
    train.add_argument("--data", type=Path, required=True, metavar="DIR", help="dataset written by f2p generate")
    train.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    train.add_argument("--config", type=Path, default=None, metavar="CONFIG.json",
                       help="ensemble config overrides (keys of f2p_engine.train.run.EnsembleConfig; "
                            "'aggregate' and 'local' take TrainConfig keys)")
    train.add_argument("--threads", type=positive_int, default=2,
                       help="torch CPU threads per process (default 2; under torchrun give each process its share)")
    train.add_argument("--rendezvous", type=positive_float, default=600.0, metavar="S",
                       help="under torchrun: seconds to wait for every training process to join (default 600)")
    train.set_defaults(run=run_train)

    evaluate = subparsers.add_parser(
        "evaluate", help="measure a model set on held-out synthetic data and/or real photos",
        description="Run the models in MODELS (onnxruntime, as f2p predict does) and write OUT/metrics.json, "
                    "OUT/report.md and plots. With --data: on every sample of the synthetic dataset DATA, "
                    "per-region L1 of baseline, aggregate, local and ensemble, constant vs learned weights, "
                    "accuracies. With --photos: every face in PHOTOS is reconstructed with each domain adapter "
                    "and each weighting of the ensemble's members, rendered head-on and compared with the "
                    "photo by two identity judges (dlib's ResNet, FaceNet): distance, share closer than the "
                    "default head, re-identification top-1/top-5, mean rank percentile. With --fusion N: L1 of "
                    "single renders vs 3 renders of one recipe fused. Give at least one of --data, --photos, --fusion.")
    evaluate.add_argument("--data", type=Path, default=None, metavar="DIR", help="dataset written by f2p generate")
    evaluate.add_argument("--photos", type=Path, default=None, metavar="DIR",
                          help="folder of face photos (.jpg .jpeg .png .bmp .webp); unreadable ones and "
                               "ones without a face are skipped and listed in the report")
    evaluate.add_argument("--max-photos", type=positive_int, default=None, metavar="N",
                          help="only the first N photos of PHOTOS by name")
    evaluate.add_argument("--min-face", type=float, default=0.0, metavar="PX",
                          help="faces narrower than PX pixels are left out (default 0: every face)")
    evaluate.add_argument("--labels", type=Path, default=None, metavar="CSV",
                          help="hand labels of the faces in PHOTOS (e.g. scripts/face_labels.csv: file, face "
                               "centre, gender, age bracket, skin tone, eye colour, beard, hair): reports the "
                               "attributes' agreement with them")
    evaluate.add_argument("--adapters", default=None, metavar="A,B",
                          help="domain adapters to compare (default: all)")
    evaluate.add_argument("--variants", default=None, metavar="V,W",
                          help="member weightings to compare (default: all of "
                               "aggregate,cnn,identity,fitted,photo-cnn,narrow,shipped)")
    evaluate.add_argument("--refine", action="store_true",
                          help="also the 'refined' variant: the shipped prediction refined by render-and-compare, "
                               "as predict --refine does (a few seconds per face)")
    evaluate.add_argument("--fusion", type=positive_int, default=None, metavar="N",
                          help="render N recipes 3 times each (other pose, light, camera) and compare the single "
                               "renders' L1 with the fused prediction's (what predict --fuse does)")
    evaluate.add_argument("--fusion-seed", type=int, default=9100, metavar="S",
                          help="recipe seed of --fusion (default 9100; not a training seed)")
    evaluate.add_argument("--models", type=Path, default=None, metavar="DIR",
                          help="model folder with manifest.json (default: the shipped models)")
    evaluate.add_argument("--out", "-o", type=Path, required=True, metavar="DIR", dest="output")
    evaluate.set_defaults(run=run_evaluate, usage_error=evaluate.error)

    predict = subparsers.add_parser(
        "predict", help="photos -> MakeHuman recipes (one, a batch, or several photos fused)",
        description="Find the largest face in each PHOTO, align it, adapt it, run the ensemble and write a "
                    "MakeHuman .mhm recipe (and optionally JSON with the recipe, confidences and timings). "
                    "One photo with -o OUT.mhm writes that file. Several photos, folders or globs (or one photo "
                    "and an existing folder) with -o DIR "
                    f"write DIR/<photo name>.mhm per photo and DIR/{REPORT_NAME} (one line per photo); a bad "
                    "photo is reported and skipped, a rerun skips photos already done, and the exit code is 2 "
                    "if any photo failed. --fuse combines several photos of one person into one OUT.mhm.")
    predict.add_argument("photos", nargs="+", metavar="PHOTO", help="photo files, folders of photos or globs")
    predict.add_argument("-o", "--output", required=True, metavar="OUT.mhm|DIR",
                         help="the recipe file, or the folder of a batch (a name ending in / is always a folder)")
    predict.add_argument("--json", nargs="?", const=True, default=None, metavar="OUT.json",
                         help="also write JSON: to OUT.json for one photo or --fuse, beside each recipe in a batch")
    predict.add_argument("--fuse", action="store_true",
                         help="several photos of one person -> one recipe, combined per region by confidence")
    predict.add_argument("--all-faces", action="store_true",
                         help="batch: one recipe per face (NAME.mhm for the largest, then NAME_face2.mhm, ...)")
    predict.add_argument("--workers", type=positive_int, default=1,
                         help="batch: worker processes, each loading the models once (default 1; at most the "
                              "cores this process may use)")
    predict.add_argument("--overwrite", action="store_true",
                         help="batch: replace outputs f2p did not write for that photo, or that were changed since")
    predict.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                         help="batch: predict on the Ray cluster at ADDRESS (host:port; without one, a local Ray); "
                              "photos, models and DIR must be storage every node sees. Needs pip install -e .[cluster]")
    predict.add_argument("--refine", action="store_true",
                         help="refine each prediction's face sliders by render-and-compare against the photo "
                              "(its identity descriptor and landmarks; a few seconds per face; not with --fuse)")
    predict.add_argument("--adapter", default=DEFAULT_ADAPTER, metavar="NAME",
                         help=f"domain adapter: none or photometric (default: {DEFAULT_ADAPTER})")
    predict.add_argument("--models", type=Path, default=None, metavar="DIR",
                         help="model folder with manifest.json (default: the shipped models)")
    predict.set_defaults(run=run_predict)


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
    from f2p_engine.train.config_file import read_ensemble_config
    from f2p_engine.train.distributed import environment_ranks, finish, init_from_environment
    from f2p_engine.train.run import train_ensemble

    config = read_ensemble_config(args.config)  # every setting checked before any work
    environment_ranks()  # torchrun's variables checked before the data is read
    source = DatasetSource.open(args.data)
    ranks = init_from_environment(args.rendezvous)  # several processes under torchrun, else one
    torch.set_num_threads(args.threads)
    total = sum(m.total_epochs for m in config.members().values()) + 1  # + the identity member
    began = time.perf_counter()
    with tqdm(total=total, desc="train", unit="epoch", disable=not ranks.is_main) as bar:
        def progress(message: str) -> None:
            bar.set_postfix_str(message[:60])
            bar.update(1)

        result = train_ensemble(config, source, args.output, progress, ranks)
    if result is None:  # not rank 0: rank 0 writes the model set
        finish(ranks)
        return 0
    models = args.output / "models"
    entries = model_entries(result)
    data = {**source.info, "holdout_fraction": config.holdout_fraction, "split_seed": config.split_seed,
            "train_seconds": round(time.perf_counter() - began, 1), "processes": ranks.world_size}
    write_manifest(models, entries, continuous_weights=result.continuous_weights, group_weights=result.group_weights,
                   calibration=result.calibration, data=data, metrics={**result.metrics.to_json(), **result.records})
    finish(ranks)
    size = sum(p.stat().st_size for p in models.iterdir()) / 2**20
    print(f"models: {models} ({len(entries)} ONNX files, {size:.1f} MB); holdout ensemble L1 per region: "
          + ", ".join(f"{r} {e.ensemble:.3f}" for r, e in result.metrics.regions.items()))
    return 0


def _names(text: str | None) -> list[str] | None:
    """"a,b" -> ["a", "b"]; None stays None (the default: all)."""
    return None if text is None else [name.strip() for name in text.split(",") if name.strip()]


SHEET = "contact_sheet.png"


def _sheet_result(results: Mapping[str, Mapping[str, Any]]) -> tuple[str, str]:
    """(adapter, variant) the contact sheet shows: the default adapter and the shipped weighting when
    they were evaluated, else the first of each."""
    adapter = DEFAULT_ADAPTER if DEFAULT_ADAPTER in results else next(iter(results))
    variant = "shipped" if "shipped" in results[adapter] else next(iter(results[adapter]))
    return adapter, variant


def run_evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from f2p_engine.evaluate.labels import read_face_labels
    from f2p_engine.evaluate.likeness import contact_sheet, evaluate_likeness, photo_files
    from f2p_engine.evaluate.report import evaluate_models, goals, likeness_summary, write_report
    from f2p_engine.face.image import write_png
    from f2p_engine.files import atomic_directory
    from f2p_engine.infer.pipeline import Predictor

    if args.data is None and args.photos is None and args.fusion is None:
        args.usage_error("give --data DIR, --photos DIR, --fusion N or several")
    # Open every input before the long work, so a bad folder fails at once.
    source = None
    if args.data is not None:
        from f2p_engine.synth.reader import DatasetSource

        source = DatasetSource.open(args.data)
    photos = photo_files(args.photos, args.max_photos) if args.photos is not None else []
    variants = _names(args.variants)
    if args.refine:
        from f2p_engine.evaluate.likeness import DEFAULT_VARIANTS

        variants = [*(variants if variants is not None else DEFAULT_VARIANTS), "refined"]
    labels = read_face_labels(args.labels) if args.labels is not None else None
    predictor = Predictor.load(args.models, threads=2)
    metrics: dict[str, Any] = {}
    if source is not None:
        with tqdm(total=len(source), desc="evaluate", unit="sample") as bar:
            held_out = evaluate_models(predictor, source, progress=bar.update)
        metrics = {**held_out.to_json(), "transfer": predictor.manifest.metrics.get("transfer", {}),
                   "data": source.info}
    if args.fusion is not None:
        from f2p_engine.evaluate.fusion import evaluate_fusion

        with tqdm(total=args.fusion, desc="fusion", unit="recipe") as bar:
            metrics["fusion"] = evaluate_fusion(predictor, args.fusion, args.fusion_seed, progress=bar.update)
    sheet = None
    if photos:
        with tqdm(total=len(photos), desc="likeness", unit="photo") as bar:
            likeness = evaluate_likeness(
                predictor, photos, _names(args.adapters), variants=variants, min_face=args.min_face,
                labels=labels, progress=bar.update)
        metrics["likeness"] = likeness.to_json()
        if likeness.faces:
            adapter, variant = _sheet_result(likeness.results)
            sheet = contact_sheet(likeness, adapter, variant)
            metrics["likeness"]["contact_sheet"] = {"file": SHEET, "adapter": adapter, "variant": variant}
    with atomic_directory(args.output, inputs=[p for p in (args.labels,) if p is not None]) as staging:
        write_report(metrics, staging)  # metrics.json, report.md, plots and contact sheet appear together
        if sheet is not None:
            write_png(staging / SHEET, sheet)
    report = args.output / "report.md"
    if source is not None or args.fusion is not None:
        print(f"{report}: {sum(goals(metrics).values())}/{len(goals(metrics))} goals met")
    if photos:
        print(f"{report}: {likeness_summary(metrics['likeness'])}")
    return 0


def _single_output(args: argparse.Namespace) -> bool:
    """One photo file to one recipe file (the original form of the command: -o names the file unless
    it is an existing folder), rather than a batch."""
    import glob

    one = len(args.photos) == 1 and not Path(args.photos[0]).is_dir() and not glob.has_magic(args.photos[0])
    return one and not args.output_is_folder and not args.output.is_dir() and not args.all_faces


def run_predict(args: argparse.Namespace) -> int:
    from f2p_engine.adapt import create_adapter

    # The fold check's views are small (256 px): Mesa's llvmpipe draws them fastest on the thread that asks,
    # without rasteriser threads (check 36 -> 24 ms a recipe at load 2.5, benchmarks/bench_folds.py; the same pixels).
    # Set before any thread starts (C's getenv and setenv do not mix across threads), for predict only: the
    # studio's larger 3D view keeps its threads.
    os.environ.setdefault("LP_NUM_THREADS", "0")
    # `-o new/` names a folder even before it exists (Path() would drop the slash and make a file "new").
    args.output_is_folder = args.output.endswith(("/", os.sep))
    args.output = Path(args.output)
    create_adapter(args.adapter)  # an unknown adapter is bad usage, before any model loads
    if args.fuse and args.refine:
        raise InputError("--refine refines one photo's prediction; it does not combine with --fuse")
    if args.fuse:
        return _run_fuse(args)
    if _single_output(args) and args.ray is None:
        return _run_single(args)
    return _run_batch(args)


def _outputs(args: argparse.Namespace) -> list[Path]:
    """The recipe and, with --json, its JSON (`--json` alone: beside the recipe)."""
    if args.json is None:
        return [args.output]
    from f2p_engine.infer.batch import PHOTO_SUFFIXES

    if args.json is not True and Path(args.json).suffix.lower() in PHOTO_SUFFIXES:
        # `--json a.jpg b.jpg` takes the photo a.jpg as the JSON's name: refuse rather than write over it.
        raise InputError(f"{args.json}: --json writes a .json file (give OUT.json, or --json after the photos)")
    return [args.output, args.output.with_suffix(".json") if args.json is True else Path(args.json)]


def _write_recipe(outputs: list[Path], inputs: list[Path], prediction: Prediction, extra: dict[str, Any]) -> None:
    """The .mhm and the optional JSON (`batch.write_recipe_files`), and the line saying so."""
    from f2p_engine.infer.batch import write_recipe_files

    write_recipe_files(outputs, inputs, prediction, extra)
    wrote("predict", *outputs)


def _run_single(args: argparse.Namespace) -> int:
    from f2p_engine.files import check_outputs
    from f2p_engine.infer.batch import predict_faces, prediction_extra
    from f2p_engine.infer.pipeline import Predictor

    photo = Path(args.photos[0])
    outputs = _outputs(args)
    check_outputs(outputs, inputs=[photo])  # before the work: a typo must not cost the photo
    began = time.perf_counter()
    predictor = Predictor.load(args.models)
    loaded = time.perf_counter()
    (prediction,), found = predict_faces(predictor, photo, args.adapter, all_faces=False, refine=args.refine)
    if found > 1:
        warn("predict", f"{photo}: {found} faces found, using the largest")
    prediction.timings["load_models"] = loaded - began
    _write_recipe(outputs, [photo], prediction, prediction_extra(photo, args.adapter, prediction))
    return 0


def _run_fuse(args: argparse.Namespace) -> int:
    from f2p_engine.files import check_outputs, text_of
    from f2p_engine.infer.batch import predict_faces, prediction_extra
    from f2p_engine.infer.fusion import fuse_predictions
    from f2p_engine.infer.pipeline import Predictor
    from f2p_engine.recipe import Recipe

    if args.output_is_folder or args.output.suffix.lower() != ".mhm":
        raise InputError(f"{args.output}: with --fuse the output is one .mhm file")
    if args.all_faces:
        raise InputError("--fuse and --all-faces exclude each other (fusion reads one person's face per photo)")
    photos = _collect(args.photos)
    if len(photos) < 2:
        raise InputError(f"--fuse needs at least two photos of the person, got {len(photos)}")
    outputs = _outputs(args)
    check_outputs(outputs, inputs=photos)
    predictor = Predictor.load(args.models)
    predictions = []
    for photo in photos:  # any bad photo stops the fusion: a recipe of fewer photos than asked is not what was asked
        (prediction,), found = predict_faces(predictor, photo, args.adapter, all_faces=False)
        if found > 1:
            warn("predict", f"{photo}: {found} faces found, using the largest")
        predictions.append(prediction)
    fusion = fuse_predictions(predictions, base=Recipe(name=text_of(args.output.stem)))
    extra = prediction_extra(photos, args.adapter, fusion.prediction,
                             disagreement={r: round(d, 4) for r, d in fusion.disagreement.items()},
                             weights={r: [round(float(w), 4) for w in ws] for r, ws in fusion.weights.items()})
    _write_recipe(outputs, photos, fusion.prediction, extra)
    worst = max(fusion.disagreement, key=fusion.disagreement.get)
    print(f"f2p predict: fused {len(photos)} photos; disagreement per region (mean |photo - fused|, 0..1): "
          + ", ".join(f"{r} {d:.3f}" for r, d in fusion.disagreement.items()) + f"; most: {worst}")
    return 0


def _collect(inputs: list[str]) -> list[Path]:
    """`batch.collect_photos`, with one warning line per entry of a folder or glob it skipped."""
    from f2p_engine.infer.batch import collect_photos

    skipped: list[str] = []
    photos = collect_photos(inputs, skipped)
    for line in skipped:
        warn("predict", line)
    return photos


def _run_batch(args: argparse.Namespace) -> int:
    import sys

    from tqdm import tqdm

    from f2p_engine.files import output_problem, resolved, same_path
    from f2p_engine.infer.batch import BatchSettings, predict_batch, usable_cores

    if args.json not in (None, True):
        raise InputError(f"{args.json}: in a batch --json takes no file name (each JSON goes beside its recipe)")
    if args.output.suffix.lower() == ".mhm":
        raise InputError(f"{args.output}: with several photos, folders or globs -o names a folder")
    problem = output_problem(args.output)
    if problem is not None:
        raise InputError(f"{args.output}: {problem}")
    photos = _collect(args.photos)
    for photo in photos:  # `-o` onto a photo: refused before the work, like every command's outputs
        if same_path(args.output, photo):
            raise InputError(f"{args.output}: is also the input {photo}; choose an output folder")
    runner = None
    if args.ray is not None:
        from f2p_engine.infer.cluster import ray_batch_runner

        runner = ray_batch_runner(args.ray or None)
    settings = BatchSettings(output=args.output, write_json=bool(args.json), all_faces=args.all_faces,
                             adapter=args.adapter, models=args.models, inputs=frozenset(map(resolved, photos)),
                             overwrite=args.overwrite, refine=args.refine)
    workers = args.workers
    if runner is None and workers > usable_cores():  # more processes than cores only cost memory
        workers = usable_cores()
        warn("predict", f"--workers {args.workers}: {workers} cores available; using {workers} worker processes")
    began = time.perf_counter()
    with tqdm(total=len(photos), desc="predict", unit="photo", disable=len(photos) < 2) as bar:
        results, skipped = predict_batch(photos, settings, workers=workers,
                                         progress=lambda _: bar.update(1), runner=runner)
    seconds = time.perf_counter() - began
    failed = [r for r in results if not r.ok]
    for result in failed:
        print(f"f2p predict: error: {result.error}", file=sys.stderr)
    recipes = sum(1 for r in results for p in r.outputs if p.endswith(".mhm"))
    print(f"f2p predict: wrote {recipes} recipes for {len(results) - len(failed)} photos to {args.output} in "
          f"{seconds:.1f} s ({len(failed)} failed, {skipped} already done); report: {args.output / REPORT_NAME}")
    return 2 if failed else 0
