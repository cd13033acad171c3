"""Batch prediction: photos, folders and globs -> one recipe per photo (or per face) in a folder.

`collect_photos` turns command-line inputs into photo paths, `plan_batch` names each photo's
outputs (from the photo's name, unique within the batch) and leaves out photos whose outputs are
complete (resume), `run_batch` predicts them with the models loaded once per process (in this
process, or in `workers` spawned processes: dlib's descriptor has hung in a worker *thread* of the
studio, never in a process), and `BatchReport` appends one JSON line per photo to the report.
A photo that fails (unreadable, no face) is reported and skipped; the batch goes on.

Outputs, for a photo `name.jpg` in folder DIR: `DIR/name.mhm` (the largest face), with
`--all-faces` also `DIR/name_face2.mhm`, `DIR/name_face3.mhm`, ... (faces by decreasing size),
and `DIR/<output stem>.json` beside each `.mhm` when JSON is asked for. Every file is written
atomically by `write_outputs`, which never writes onto an input photo.
"""

from __future__ import annotations

import glob
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.errors import F2PError, InputError
from f2p_engine.infer.pipeline import Prediction, Predictor, with_measured_colours

log = logging.getLogger(__name__)

#: Photo file endings a folder or glob is searched for (any case).
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: The JSON-lines report written into the output folder.
REPORT_NAME = "predict-report.jsonl"
#: Seconds without any photo finishing after which worker processes count as hung (a photo takes
#: well under a second; dlib's descriptor has hung in a thread of the studio).
HANG_SECONDS = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchSettings:
    """What every photo of a batch shares: the output folder, JSON beside each recipe or not, every
    face or the largest, the adapter, the model folder (None: the shipped models) and the resolved
    input photos (never written onto)."""

    output: Path
    write_json: bool = False
    all_faces: bool = False
    adapter: str = DEFAULT_ADAPTER
    models: Path | None = None
    inputs: frozenset[Path] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoJob:
    """One photo and the stem its outputs are named after (unique within the batch)."""

    photo: Path
    stem: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoResult:
    """What happened to one photo: `outputs` (files written, recipes then JSON), `faces_found`,
    `confidences` (region -> [0, 1], one dict per recipe written), `timings_ms` (stage -> ms, summed
    over faces), `error` (None on success: one line naming the photo and the problem)."""

    photo: str
    outputs: tuple[str, ...] = ()
    faces_found: int = 0
    confidences: tuple[dict[str, float], ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def record(self) -> dict[str, Any]:
        """The report's JSON line for this photo."""
        return {**asdict(self), "outputs": list(self.outputs), "confidences": list(self.confidences)}


# -- inputs ----------------------------------------------------------------------------------------
def photos_in(folder: Path) -> list[Path]:
    """The photo files directly in `folder` (by ending, any case), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def collect_photos(inputs: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Photo paths from files, folders (their photos, by name) and globs (`*.jpg`, `shoot/**/*.png`),
    in the order given, each once. A path that does not exist is kept (the batch reports it as a
    failed photo). InputError for a folder with no photos or a glob matching none."""
    photos: list[Path] = []
    for entry in inputs:
        text = os.fspath(entry)
        path = Path(text)
        if path.is_dir():
            found = photos_in(path)
            if not found:
                raise InputError(f"{path}: no photos ({', '.join(PHOTO_SUFFIXES)})")
        elif not path.exists() and glob.has_magic(text):
            found = sorted(Path(p) for p in glob.glob(text, recursive=True)
                           if Path(p).is_file() and Path(p).suffix.lower() in PHOTO_SUFFIXES)
            if not found:
                raise InputError(f"{text}: no photo matches this pattern")
        else:
            found = [path]
        photos.extend(found)
    seen: set[Path] = set()
    unique = []
    for photo in photos:
        key = photo.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(photo)
    return unique


def output_stems(photos: Sequence[Path]) -> list[str]:
    """The stem of each photo's outputs: its own stem, `stem_2`, `stem_3`, ... when several photos
    share one (in the given order, so a rerun names them the same)."""
    stems, used = [], set()
    for photo in photos:
        stem, n = photo.stem, 1
        while stem.casefold() in used:
            n += 1
            stem = f"{photo.stem}_{n}"
        used.add(stem.casefold())
        stems.append(stem)
    return stems


def face_stem(stem: str, face: int) -> str:
    """Output stem of face `face` (0 = the largest) of a photo: `stem`, `stem_face2`, ..."""
    return stem if face == 0 else f"{stem}_face{face + 1}"


# -- resume ----------------------------------------------------------------------------------------
def read_report(path: Path) -> dict[str, dict[str, Any]]:
    """Photo -> its last record in a report (later runs append); a torn last line is ignored."""
    records: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            records[record["photo"]] = record
        except (ValueError, KeyError, TypeError):
            continue
    return records


def _complete(job: PhotoJob, settings: BatchSettings, previous: dict[str, Any] | None) -> bool:
    """Whether a photo's outputs are all there: its recipe(s) and, when asked for, their JSON."""
    if settings.all_faces:  # how many faces the photo holds only the report knows
        if previous is None or previous.get("error") is not None:
            return False
        recipes = [Path(p) for p in previous["outputs"] if p.endswith(".mhm")]
        if len(recipes) != previous.get("faces_found"):  # an earlier run wrote the largest face only
            return False
    else:
        recipes = [settings.output / f"{job.stem}.mhm"]
    wanted = recipes + ([r.with_suffix(".json") for r in recipes] if settings.write_json else [])
    if any(p.resolve() in settings.inputs for p in wanted):
        return False  # that "output" is a photo: run the job, whose write refuses and reports it
    return bool(recipes) and all(p.is_file() for p in wanted)


def plan_batch(photos: Sequence[Path], settings: BatchSettings) -> tuple[list[PhotoJob], list[PhotoJob]]:
    """(jobs to run, jobs whose outputs are complete from an earlier run) for `photos`."""
    previous = read_report(settings.output / REPORT_NAME)
    todo, done = [], []
    for photo, stem in zip(photos, output_stems(photos), strict=True):
        job = PhotoJob(photo=photo, stem=stem)
        (done if _complete(job, settings, previous.get(str(photo))) else todo).append(job)
    return todo, done


# -- one photo -------------------------------------------------------------------------------------
def write_outputs(settings: BatchSettings, stem: str, prediction: Prediction, extra: dict[str, Any]) -> list[Path]:
    """Write `stem.mhm` (and `stem.json` with `extra`) into the output folder, together and atomically
    (`files.atomic_outputs`); returns the paths. InputError rather than write onto an input photo."""
    paths = [settings.output / f"{stem}.mhm"] + ([settings.output / f"{stem}.json"] if settings.write_json else [])
    # `settings.inputs` holds resolved paths: a set lookup per output keeps the check cheap in big batches.
    write_recipe_files(paths, [q for q in paths if q.resolve() in settings.inputs], prediction, extra)
    return paths


def write_recipe_files(paths: Sequence[Path], inputs: Sequence[Path], prediction: Prediction,
                       extra: dict[str, Any]) -> None:
    """The .mhm (`paths[0]`) and, if a second path is given, the JSON with `extra`: both appear together
    or neither does (`files.atomic_outputs`); InputError rather than write onto one of `inputs`."""
    from f2p_engine.files import atomic_outputs
    from f2p_engine.recipe import write_json, write_mhm

    with atomic_outputs(*paths, inputs=inputs) as staged:
        write_mhm(prediction.recipe, staged[0])
        if len(staged) > 1:
            write_json(prediction.recipe, staged[1], extra=extra)


def prediction_extra(source: Path | Sequence[Path], adapter: str, prediction: Prediction, **more: Any
                     ) -> dict[str, Any]:
    """The JSON beside a recipe: source photo(s), adapter, confidence per region, option probabilities,
    the macro member's reading (P(male), years and their confidences) when it gave Gender and Age,
    the colours measured in the photo and timings in ms (`more` adds keys)."""
    sources = str(source) if isinstance(source, Path) else [str(p) for p in source]
    read = prediction.attributes
    macro = {} if read is None else {"macro_member": {
        "male": round(read.male, 4), "gender_confidence": round(read.gender_confidence, 4),
        "years": round(read.years, 2), "age_confidence": round(read.age_confidence, 4)}}
    if prediction.colours is not None:
        more = {"colours": {"skin_tone": prediction.colours.tone,
                            "typology_angle": round(prediction.colours.typology_angle, 2),
                            "eye_colour": prediction.colours.eye_colour, "reliable": prediction.colours.reliable,
                            "notes": list(prediction.colours.notes)}, **more}
    return {"source": sources, "adapter": adapter,
            "confidence": {r: round(c, 4) for r, c in prediction.confidence.items()},
            "probabilities": {g: [round(float(p), 4) for p in ps] for g, ps in prediction.probabilities.items()},
            **macro, "timings_ms": {k: round(v * 1000, 2) for k, v in prediction.timings.items()}, **more}


def predict_faces(predictor: Predictor, photo: Path, adapter: str, all_faces: bool
                  ) -> tuple[list[Prediction], int]:
    """(predictions of the largest face, or of every face largest first; faces found) of one photo.
    InputError naming the photo when it is unreadable or holds no face."""
    from f2p_engine.adapt import create_adapter, stylise
    from f2p_engine.face.aligned import align_face, faces_in_photo
    from f2p_engine.face.attributes import read_attributes
    from f2p_engine.face.image import load_image
    from f2p_engine.recipe import Recipe

    began = time.perf_counter()
    image = load_image(photo)
    read = time.perf_counter()
    faces = faces_in_photo(image)
    detected = time.perf_counter()
    style = create_adapter(adapter)
    predictions = []
    for k, detection in enumerate(faces if all_faces else faces[:1]):
        start = time.perf_counter()
        face = align_face(image, detection, faces_found=len(faces))
        aligned = time.perf_counter()
        attributes = read_attributes(face.image, face.landmarks)
        measured = time.perf_counter()
        face = stylise(face, style)
        adapted = time.perf_counter()
        prediction = predictor.predict_aligned(face.image, face.landmarks, base=Recipe(name=face_stem(photo.stem, k)),
                                               attributes=attributes)
        shared = {"read_image": read - began, "detect": detected - read} if k == 0 else {}
        prediction.timings.update({**shared, "align": aligned - start, "attributes": measured - aligned,
                                   "adapt": adapted - measured})
        predictions.append(with_measured_colours(prediction, image, detection))
    return predictions, len(faces)


def predict_job(predictor: Predictor, job: PhotoJob, settings: BatchSettings) -> PhotoResult:
    """Predict and write one photo; any failure becomes the result's `error` (the batch goes on)."""
    from f2p_engine.infer.fusion import sum_timings

    began = time.perf_counter()
    try:
        predictions, found = predict_faces(predictor, job.photo, settings.adapter, settings.all_faces)
        recipes, jsons = [], []
        for k, prediction in enumerate(predictions):
            extra = prediction_extra(job.photo, settings.adapter, prediction, face=k + 1, faces_found=found)
            recipe, *json_file = write_outputs(settings, face_stem(job.stem, k), prediction, extra)
            recipes.append(str(recipe))
            jsons.extend(str(p) for p in json_file)
    except (F2PError, OSError) as exc:
        return PhotoResult(photo=str(job.photo), error=_message(job.photo, exc))
    except Exception as exc:  # a decoder or model failing on one odd file must not end the batch
        log.exception("%s: unexpected failure", job.photo)
        return PhotoResult(photo=str(job.photo), error=f"{job.photo}: {type(exc).__name__}: {exc}")
    timings = sum_timings(p.timings for p in predictions)
    timings["total"] = time.perf_counter() - began
    return PhotoResult(photo=str(job.photo), outputs=(*recipes, *jsons), faces_found=found,
                       confidences=tuple({r: round(c, 4) for r, c in p.confidence.items()} for p in predictions),
                       timings_ms={k: round(v * 1000, 2) for k, v in timings.items()})


def _message(photo: Path, exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"{exc.filename or photo}: {exc.strerror or exc}"
    text = str(exc)
    return text if str(photo) in text else f"{photo}: {text}"


# -- many photos -----------------------------------------------------------------------------------
_predictor: Predictor | None = None
_settings: BatchSettings | None = None


def init_worker(settings: BatchSettings) -> None:
    """Worker process start: OpenCV single-threaded (the workers already fill the cores), then the
    ensemble and the face models loaded once, so no photo pays for them. The settings (with every
    input's path) are kept here once rather than sent with each photo."""
    import cv2

    from f2p_engine.face.detect import load_models

    global _predictor, _settings
    cv2.setNumThreads(1)
    _predictor, _settings = Predictor.load(settings.models), settings
    load_models()


def worker_job(job: PhotoJob) -> PhotoResult:
    """`predict_job` with the models and settings `init_worker` loaded in this worker process."""
    return predict_job(_predictor, job, _settings)


def run_batch(jobs: Sequence[PhotoJob], settings: BatchSettings, workers: int = 1,
              hang_seconds: float = HANG_SECONDS) -> Iterator[PhotoResult]:
    """Predict every job, yielding results as they finish (in order with one worker).

    One worker runs in this process; more run in spawned processes, each loading the models once.
    If no worker finishes a photo for `hang_seconds`, the workers are stopped and F2PError says so
    (the photos done so far are kept: a rerun resumes).
    """
    if not jobs:
        return
    if workers <= 1:
        predictor = Predictor.load(settings.models)
        for job in jobs:
            yield predict_job(predictor, job, settings)
        return
    from f2p_engine.synth.dataset import spawned_pool

    with spawned_pool(min(workers, len(jobs)), init_worker, (settings,)) as pool:
        results = pool.imap_unordered(worker_job, jobs)
        for _ in jobs:
            try:
                yield results.next(timeout=hang_seconds)
            except multiprocessing.TimeoutError:
                pool.terminate()
                raise F2PError(f"no photo finished in {hang_seconds:g} s: the worker processes hung and were "
                               "stopped; rerun the command to resume") from None


class BatchReport:
    """The batch's JSON-lines report: one line appended (and flushed) per photo as it finishes, so an
    interrupted batch keeps what it did; a rerun appends, and the last line per photo counts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("a", encoding="utf-8")

    def add(self, result: PhotoResult) -> None:
        self._handle.write(json.dumps(result.record()) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> BatchReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Predicts jobs and yields their results as they finish (in any order).
BatchRunner = Callable[[Sequence[PhotoJob], BatchSettings], Iterator[PhotoResult]]


def predict_batch(photos: Sequence[Path], settings: BatchSettings, workers: int = 1,
                  progress: Callable[[PhotoResult | None], None] | None = None,
                  runner: BatchRunner | None = None) -> tuple[list[PhotoResult], int]:
    """Predict `photos` into `settings.output`, resuming: (results of the photos run, photos skipped as
    complete). `progress(result)` is called per photo (None for each one skipped). `runner` runs the
    jobs (default `run_batch` with `workers` processes; `infer.cluster.ray_batch_runner` uses Ray)."""
    if settings.output.exists() and not settings.output.is_dir():
        raise InputError(f"{settings.output}: exists and is not a folder")
    settings.output.mkdir(parents=True, exist_ok=True)
    todo, done = plan_batch(photos, settings)
    if progress:
        for _ in done:
            progress(None)
    results = []
    with BatchReport(settings.output / REPORT_NAME) as report:
        results_of = runner or (lambda jobs, batch: run_batch(jobs, batch, workers))
        for result in results_of(todo, settings):
            report.add(result)
            results.append(result)
            if progress:
                progress(result)
    return results, len(done)
