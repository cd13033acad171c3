"""Batch prediction: photos, folders and globs -> one recipe per photo (or per face) in a folder.

`collect_photos` turns command-line inputs into photo paths (and says which files it skipped),
`plan_batch` names each photo's outputs and leaves out photos whose outputs are complete (resume),
`run_batch` predicts them with the models loaded once per process (in this process, or in
`workers` spawned processes), and `BatchReport` appends one JSON line per photo to the report.
A photo that fails (unreadable, no face) is reported and skipped; the batch goes on.

Outputs, for a photo `name.jpg`: `DIR/name.mhm` (the largest face), with `--all-faces` also
`DIR/name_face2.mhm`, `DIR/name_face3.mhm`, ... (faces by decreasing size), and `DIR/<output
stem>.json` beside each `.mhm` when JSON is asked for. Photos whose names would share outputs
(`a.jpg` and `a.png`, two folders' `IMG_0001.png`, `team.jpg` and `team_face2.png`) are told apart
before any work: `a_jpg`, `a_png`, then a short hash of the photo's path; a name a photo got in an
earlier run stays its own. Identity is by content: the report records each photo's size and sha256,
the models' and every output's sha256, so a rerun skips a photo only when the same photo was
predicted by the same models, and never replaces a file f2p did not write for that photo, or one
changed since, unless asked to (`overwrite`). Every file is written atomically by `write_outputs`,
which never writes onto an input photo.
"""

from __future__ import annotations

import glob
import hashlib
import itertools
import json
import logging
import os
import re
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.errors import F2PError, InputError
from f2p_engine.files import MAX_INPUT_BYTES, check_input_file, input_problem, resolved, sha256_file, text_of
from f2p_engine.infer.pipeline import Prediction, Predictor

log = logging.getLogger(__name__)

#: Photo file endings a folder or glob is searched for (any case).
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: The JSON-lines report written into the output folder.
REPORT_NAME = "predict-report.jsonl"
#: Seconds without any photo finishing after which worker processes count as hung (a photo takes
#: well under a second).
HANG_SECONDS = 300.0
#: Times a photo may be in a worker process that died before it is reported rather than retried
#: (after the first death it runs alone, so the second death is its own).
WORKER_DEATHS = 2


#: A photo as the report knows it: (its path as given, its sha256). A photo at the same path, or
#: with the same content, is the same photo (a photo edited in place keeps its outputs' names).
Owner = tuple[str, str]


def same_photo(owner: Owner, photo: Path, sha256: str) -> bool:
    return owner[0] == str(photo) or (bool(sha256) and owner[1] == sha256)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchSettings:
    """What every photo of a batch shares: the output folder, JSON beside each recipe or not, every
    face or the largest, the adapter, the model folder (None: the shipped models), the resolved
    input photos (never written onto) and whether predictions are refined (`infer.refine`);
    `overwrite` replaces files f2p did not write; `models_id` and `written` (output file name -> (the
    photo it was written for, its own sha256), from the report of earlier runs) are filled in by
    `predict_batch`."""

    output: Path
    write_json: bool = False
    all_faces: bool = False
    adapter: str = DEFAULT_ADAPTER
    models: Path | None = None
    inputs: frozenset[Path] = frozenset()
    refine: bool = False
    overwrite: bool = False
    models_id: str = ""
    written: Mapping[str, tuple[Owner, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoJob:
    """One photo, the stem its outputs are named after (unique within the batch) and the photo's size
    and sha256 when planned (0 and "" for a file that cannot be read: its job reports why)."""

    photo: Path
    stem: str
    size: int = 0
    sha256: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoResult:
    """What happened to one photo: `outputs` (files written, recipes then JSON) and their sha256,
    `faces_found`, `confidences` (region -> [0, 1], one dict per recipe written), `timings_ms` (stage ->
    ms, summed over faces), `error` (None on success: one line naming the photo and the problem), the
    photo's size and sha256 and the models' id (what a rerun compares)."""

    photo: str
    outputs: tuple[str, ...] = ()
    output_sha256: tuple[str, ...] = ()
    faces_found: int = 0
    confidences: tuple[dict[str, float], ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    photo_size: int = 0
    photo_sha256: str = ""
    models: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    def record(self) -> dict[str, Any]:
        """The report's JSON line for this photo."""
        return {**asdict(self), "outputs": list(self.outputs), "output_sha256": list(self.output_sha256),
                "confidences": list(self.confidences)}


# -- inputs ----------------------------------------------------------------------------------------
def _photo_named(path: Path) -> bool:
    return path.suffix.lower() in PHOTO_SUFFIXES


def _readable(candidates: Sequence[Path], skipped: list[str]) -> list[Path]:
    """The regular files among `candidates` (photo-named entries of a folder or glob); one line per
    other one (a FIFO, a device, a link loop, a dangling link) added to `skipped`."""
    found = []
    for path in candidates:
        problem = input_problem(path)
        if problem is None:
            found.append(path)
        elif problem != "is a folder, not a file":  # `shoot.jpg/` is a folder: not a photo, nothing to say
            skipped.append(f"{path}: {problem}; skipped")
    return found


def photos_in(folder: Path, skipped: list[str] | None = None) -> list[Path]:
    """The photo files directly in `folder` (by ending, any case), sorted by name; other entries
    with a photo's ending that cannot be read as files are listed in `skipped`."""
    entries = sorted(p for p in folder.iterdir() if _photo_named(p))
    return _readable(entries, [] if skipped is None else skipped)


def collect_photos(inputs: Sequence[str | os.PathLike[str]], skipped: list[str] | None = None) -> list[Path]:
    """Photo paths from files, folders (their photos, by name) and globs (`*.jpg`, `shoot/**/*.png`),
    in the order given, each once. A named path that does not exist is kept (the batch reports it as
    a failed photo); entries of folders and globs that are not files (FIFOs, devices, link loops,
    dangling links) are left out, one line each in `skipped`. InputError for a folder with no photos,
    a glob matching none, or a named path that is a symbolic link loop."""
    skipped = [] if skipped is None else skipped
    photos: list[Path] = []
    for entry in inputs:
        text = os.fspath(entry)
        path = Path(text)
        if path.is_dir():
            found = photos_in(path, skipped)
            if not found:
                raise InputError(f"{path}: no photos ({', '.join(PHOTO_SUFFIXES)})")
        elif not os.path.lexists(text) and glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if _photo_named(Path(p)))
            found = _readable(matches, skipped)
            if not found:
                raise InputError(f"{text}: no photo matches this pattern")
        else:
            found = [path]
        photos.extend(found)
    seen: set[Path] = set()
    unique = []
    for photo in photos:
        key = resolved(photo)
        if key not in seen:
            seen.add(key)
            unique.append(photo)
    return unique


_FACE_STEM = re.compile(r"(.+)_face\d+", re.IGNORECASE)


def _stem_candidates(photo: Path, shared: bool) -> Iterator[str]:
    """Output stems for `photo`, most readable first: its stem (unless `shared`), `stem_ext`, then
    `stem_ext_<hash of its path>` (and numbered ones, should even those be taken)."""
    if not shared:
        yield photo.stem
    ext = photo.suffix.lower().lstrip(".") or "file"
    yield f"{photo.stem}_{ext}"
    digest = hashlib.sha256(os.fsencode(os.path.abspath(photo))).hexdigest()[:8]
    yield f"{photo.stem}_{ext}_{digest}"
    n = 2
    while True:
        yield f"{photo.stem}_{ext}_{digest}_{n}"
        n += 1


def output_stems(photos: Sequence[Path], contents: Sequence[str] | None = None,
                 claimed: Mapping[str, Owner] | None = None) -> list[str]:
    """The stem of each photo's outputs, different for different photos (ignoring case) and stable.

    A photo keeps a stem it had in an earlier run (`claimed`: casefolded stem -> the photo it was
    written for, `same_photo`; `contents`: each photo's sha256); stems claimed by other photos stay theirs.
    Otherwise a photo is named after its stem unless another photo of the batch has the same stem, or
    its stem is another photo's face name (`team_face2.png` beside `team.jpg`); then `stem_ext`, and
    failing that `stem_ext_<hash of its path>` (`_stem_candidates`)."""
    contents = list(contents) if contents is not None else [""] * len(photos)
    claimed = dict(claimed or {})
    chosen: list[str | None] = [None] * len(photos)
    taken: set[str] = set()
    for i, photo in enumerate(photos):  # first the names photos had before
        for candidate in itertools.islice(_stem_candidates(photo, shared=False), 3):
            key = candidate.casefold()
            if key in claimed and same_photo(claimed[key], photo, contents[i]) and key not in taken:
                chosen[i] = candidate
                taken.add(key)
                break
    counts = Counter(p.stem.casefold() for p in photos)
    taken |= set(claimed)
    for i, photo in enumerate(photos):
        if chosen[i] is not None:
            continue
        face = _FACE_STEM.fullmatch(photo.stem)
        shared = counts[photo.stem.casefold()] > 1 or (face is not None and face[1].casefold() in counts)
        chosen[i] = next(c for c in _stem_candidates(photo, shared) if c.casefold() not in taken)
        taken.add(chosen[i].casefold())
    return [c for c in chosen if c is not None]


def face_stem(stem: str, face: int) -> str:
    """Output stem of face `face` (0 = the largest) of a photo: `stem`, `stem_face2`, ..."""
    return stem if face == 0 else f"{stem}_face{face + 1}"


# -- resume ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRecord:
    """One valid line of a report (`read_report`): what a rerun needs of an earlier photo."""

    photo: str
    photo_size: int
    photo_sha256: str
    models: str
    outputs: tuple[str, ...]
    output_sha256: tuple[str, ...]
    faces_found: int
    error: str | None

    @property
    def stem(self) -> str | None:
        """The output stem of its largest face (None when it wrote nothing)."""
        recipes = [Path(p) for p in self.outputs if p.endswith(".mhm")]
        return recipes[0].stem if recipes else None


def _text_list(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def parse_record(data: object) -> ReportRecord | None:
    """A report line's record, or None when it is not one this version wrote (wrong or missing types,
    outputs and their hashes of different lengths): such a line is ignored, never trusted."""
    if not isinstance(data, dict):
        return None
    outputs, hashes = _text_list(data.get("outputs")), _text_list(data.get("output_sha256"))
    size, faces, error = data.get("photo_size"), data.get("faces_found"), data.get("error")
    texts = [data.get(k) for k in ("photo", "photo_sha256", "models")]
    if (outputs is None or hashes is None or len(outputs) != len(hashes) or not all(isinstance(t, str) for t in texts)
            or not (isinstance(error, str) or error is None)):
        return None
    if not all(type(n) is int and n >= 0 for n in (size, faces)):
        return None
    return ReportRecord(photo=texts[0], photo_size=size, photo_sha256=texts[1], models=texts[2], outputs=outputs,
                        output_sha256=hashes, faces_found=faces, error=error)


#: A report line longer than this is not one f2p wrote (one photo's line is about 1 KB).
MAX_REPORT_LINE = 1 << 20


def read_report(path: Path) -> list[ReportRecord]:
    """The valid records of a report, in the order written (later runs append); lines that are not
    valid records (a torn last line, a line edited by hand) are ignored. InputError naming the report
    when it is not a regular file (a FIFO would block) or larger than `files.MAX_INPUT_BYTES`."""
    if not os.path.lexists(path):
        return []
    check_input_file(path, MAX_INPUT_BYTES)
    records = []
    try:
        with path.open("rb") as handle:
            for raw in handle:
                if len(raw) > MAX_REPORT_LINE:
                    continue
                try:
                    record = parse_record(json.loads(raw))
                except (ValueError, RecursionError):
                    continue
                if record is not None:
                    records.append(record)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    return records


def written_files(records: Sequence[ReportRecord]) -> dict[str, tuple[Owner, str]]:
    """Output file name -> (its photo, its own sha256 when written), the latest per file."""
    written = {}
    for record in records:
        for output, digest in zip(record.outputs, record.output_sha256, strict=True):
            written[Path(output).name] = ((record.photo, record.photo_sha256), digest)
    return written


def models_id(models: Path | None) -> str:
    """What identifies a model set in the report: the sha256 of its manifest (which holds every
    model's sha256); "" when it has none (loading the models then says what is wrong)."""
    from f2p_engine.infer.manifest import MANIFEST, models_dir

    manifest = (models if models is not None else models_dir()) / MANIFEST
    return sha256_file(manifest) if input_problem(manifest) is None else ""


def _complete(job: PhotoJob, settings: BatchSettings, previous: ReportRecord | None) -> bool:
    """Whether an earlier run predicted this photo (same size and sha256) with these models and its
    outputs are all there: its recipe(s) and, when asked for, their JSON."""
    if previous is None or previous.error is not None or not job.sha256:
        return False
    if (previous.photo_size, previous.photo_sha256, previous.models) != (job.size, job.sha256, settings.models_id):
        return False
    recipes = [settings.output / Path(p).name for p in previous.outputs if p.endswith(".mhm")]
    if settings.all_faces and len(recipes) != previous.faces_found:  # an earlier run wrote the largest face only
        return False
    wanted = recipes + ([r.with_suffix(".json") for r in recipes] if settings.write_json else [])
    if any(resolved(p) in settings.inputs for p in wanted):
        return False  # that "output" is a photo: run the job, whose write refuses and reports it
    made = {Path(p).name for p in previous.outputs}  # a file of that name f2p did not write is not an output
    return bool(recipes) and all(p.name in made and p.is_file() for p in wanted)


def _photo_identity(photo: Path) -> tuple[int, str]:
    """(size, sha256) of a photo; (0, "") when it cannot be read (its job then says why)."""
    try:
        return check_input_file(photo), sha256_file(photo)
    except (InputError, OSError):
        return 0, ""


def plan_batch(photos: Sequence[Path], settings: BatchSettings,
               records: Sequence[ReportRecord] = ()) -> tuple[list[PhotoJob], list[PhotoJob]]:
    """(jobs to run, jobs whose outputs are complete from an earlier run) for `photos`, named by
    `output_stems` before any work, given the `records` of earlier runs."""
    identities = [_photo_identity(photo) for photo in photos]
    claimed, latest = {}, {}
    for record in records:
        for output in record.outputs:
            claimed[Path(output).stem.casefold()] = (record.photo, record.photo_sha256)
        if record.stem is not None:
            latest[(record.photo_sha256, record.stem.casefold())] = record
    stems = output_stems(photos, [sha for _, sha in identities], claimed)
    todo, done = [], []
    for photo, stem, (size, sha) in zip(photos, stems, identities, strict=True):
        job = PhotoJob(photo=photo, stem=stem, size=size, sha256=sha)
        (done if _complete(job, settings, latest.get((sha, stem.casefold()))) else todo).append(job)
    return todo, done


# -- one photo -------------------------------------------------------------------------------------
def _check_replace(path: Path, job: PhotoJob, settings: BatchSettings) -> None:
    """InputError unless `path` may be (re)written for `job`: it does not exist, --overwrite was given,
    or f2p wrote it for this photo and it has not changed since (the report says so)."""
    if settings.overwrite or not os.path.lexists(path):
        return
    owner = settings.written.get(path.name)
    if owner is None:
        reason = "exists and was not written by f2p"
    elif not same_photo(owner[0], job.photo, job.sha256):
        reason = "was written by f2p for another photo"
    elif input_problem(path) is not None or sha256_file(path) != owner[1]:
        reason = "was changed since f2p wrote it"
    else:
        return
    raise InputError(f"{path}: {reason}; not replaced (give --overwrite to replace it, or another -o folder)")


def write_outputs(settings: BatchSettings, job: PhotoJob, stem: str, prediction: Prediction,
                  extra: dict[str, Any]) -> list[Path]:
    """Write `stem.mhm` (and `stem.json` with `extra`) into the output folder, together and atomically
    (`files.atomic_outputs`); returns the paths. InputError rather than write onto an input photo or
    replace a file `_check_replace` protects."""
    paths = [settings.output / f"{stem}.mhm"] + ([settings.output / f"{stem}.json"] if settings.write_json else [])
    # `settings.inputs` holds resolved paths: a set lookup per output keeps the check cheap in big batches.
    inputs = [q for q in paths if resolved(q) in settings.inputs]
    for path in paths:
        if path not in inputs:  # an input is refused as such by `write_recipe_files`
            _check_replace(path, job, settings)
    write_recipe_files(paths, inputs, prediction, extra)
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
    the colours and the hair's reach beside the face, lightness and redness against the skin measured in
    the photo, how the choices not taken from the members' probabilities were made (`Prediction.sources`)
    and timings in ms (`more` adds keys)."""
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
    if prediction.hair is not None:
        more = {"hair_reach": list(prediction.hair.reach), "hair_lightness": prediction.hair.lightness,
                "hair_redness": prediction.hair.redness, **more}
    if prediction.sources:
        more = {"choice_sources": dict(prediction.sources), **more}
    return {"source": sources, "adapter": adapter,
            "confidence": {r: round(c, 4) for r, c in prediction.confidence.items()},
            "probabilities": {g: [round(float(p), 4) for p in ps] for g, ps in prediction.probabilities.items()},
            **macro, "timings_ms": {k: round(v * 1000, 2) for k, v in prediction.timings.items()}, **more}


def predict_faces(predictor: Predictor, photo: Path, adapter: str, all_faces: bool, stem: str | None = None, *,
                  refine: bool = False) -> tuple[list[Prediction], int]:
    """(predictions of the largest face, or of every face largest first; faces found) of one photo,
    their recipes named after `stem` (default: the photo's); with `refine`, each refined against its
    face (`infer.refine`, seconds per face). InputError naming the photo when it is unreadable or holds
    no face."""
    from f2p_engine.adapt import create_adapter, stylise
    from f2p_engine.face.aligned import align_face, faces_in_photo
    from f2p_engine.face.image import load_image
    from f2p_engine.face.reading import read_photo_soon
    from f2p_engine.recipe import Recipe

    began = time.perf_counter()
    image = load_image(photo)
    read = time.perf_counter()
    faces = faces_in_photo(image)
    detected = time.perf_counter()
    style = create_adapter(adapter)
    name = text_of(photo.stem if stem is None else stem)  # a recipe name is UTF-8 text, a file name may not be
    predictions = []
    for k, detection in enumerate(faces if all_faces else faces[:1]):
        start = time.perf_counter()
        face = align_face(image, detection, faces_found=len(faces))
        aligned = time.perf_counter()
        reading = read_photo_soon(image, face.image, face.landmarks, detection)  # beside the adapter and members
        adapted_face = stylise(face, style)
        adapted = time.perf_counter()
        prediction = predictor.predict_aligned(adapted_face.image, adapted_face.landmarks,
                                               base=Recipe(name=face_stem(name, k)), reading=reading)
        shared = {"read_image": read - began, "detect": detected - read} if k == 0 else {}
        prediction.timings.update({**shared, "align": aligned - start, "adapt": adapted - aligned})
        if refine:  # after the colours: the renders wear the skin the recipe ends with
            from f2p_engine.infer.refine import refined_prediction  # the renderer: only when asked to refine

            prediction = refined_prediction(prediction, face.image, face.landmarks)
        predictions.append(prediction)
    return predictions, len(faces)


def predict_job(predictor: Predictor, job: PhotoJob, settings: BatchSettings) -> PhotoResult:
    """Predict and write one photo; any failure becomes the result's `error` (the batch goes on)."""
    from f2p_engine.infer.fusion import sum_timings

    began = time.perf_counter()
    identity = {"photo_size": job.size, "photo_sha256": job.sha256, "models": settings.models_id}
    try:
        predictions, found = predict_faces(predictor, job.photo, settings.adapter, settings.all_faces, job.stem,
                                           refine=settings.refine)
        recipes, jsons = [], []
        for k, prediction in enumerate(predictions):
            extra = prediction_extra(job.photo, settings.adapter, prediction, face=k + 1, faces_found=found)
            recipe, *json_file = write_outputs(settings, job, face_stem(job.stem, k), prediction, extra)
            recipes.append(recipe)
            jsons.extend(json_file)
    except (F2PError, OSError) as exc:
        return PhotoResult(photo=str(job.photo), error=_message(job.photo, exc), **identity)
    except Exception as exc:  # a decoder or model failing on one odd file must not end the batch
        log.exception("%s: unexpected failure", job.photo)
        return PhotoResult(photo=str(job.photo), error=f"{job.photo}: {type(exc).__name__}: {exc}", **identity)
    timings = sum_timings(p.timings for p in predictions)
    timings["total"] = time.perf_counter() - began
    outputs = [*recipes, *jsons]
    return PhotoResult(photo=str(job.photo), outputs=tuple(map(str, outputs)),
                       output_sha256=tuple(sha256_file(p) for p in outputs), faces_found=found,
                       confidences=tuple({r: round(c, 4) for r, c in p.confidence.items()} for p in predictions),
                       timings_ms={k: round(v * 1000, 2) for k, v in timings.items()}, **identity)


def _message(photo: Path, exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"{exc.filename or photo}: {exc.strerror or exc}"
    text = str(exc)
    return text if str(photo) in text else f"{photo}: {text}"


# -- many photos -----------------------------------------------------------------------------------
_predictor: Predictor | None = None
_settings: BatchSettings | None = None


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def init_worker(settings: BatchSettings) -> None:
    """Worker process start: Ctrl-C left to the parent (which stops the workers), OpenCV single-threaded
    (the workers already fill the cores), then the ensemble and the face models loaded once, so no
    photo pays for them. The settings (with every input's path) are kept here once rather than sent
    with each photo."""
    import cv2

    from f2p_engine.face.detect import load_models

    global _predictor, _settings
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)
    _predictor, _settings = Predictor.load(settings.models), settings
    load_models()


def worker_job(job: PhotoJob) -> PhotoResult:
    """`predict_job` with the models and settings `init_worker` loaded in this worker process."""
    return predict_job(_predictor, job, _settings)


def _died(job: PhotoJob, settings: BatchSettings) -> PhotoResult:
    return PhotoResult(photo=str(job.photo), photo_size=job.size, photo_sha256=job.sha256, models=settings.models_id,
                       error=f"{job.photo}: the worker process predicting it died twice (killed, or out of memory?)")


def run_batch(jobs: Sequence[PhotoJob], settings: BatchSettings, workers: int = 1,
              hang_seconds: float = HANG_SECONDS) -> Iterator[PhotoResult]:
    """Predict every job, yielding results as they finish (in order with one worker).

    One worker runs in this process; more (at most the usable cores) run in spawned processes, each
    loading the models once, with one photo each at a time. A worker process that dies (the OOM
    killer) is noticed at once: the photos it held run again, each alone, and a photo whose worker
    dies again is reported as failed. If no worker finishes a photo for `hang_seconds`, the workers
    are stopped and F2PError says so (the photos done so far are kept: a rerun resumes). Leaving early
    (an error, Ctrl-C, SIGTERM) stops every worker process.
    """
    if not jobs:
        return
    if workers <= 1:
        predictor = Predictor.load(settings.models)
        for job in jobs:
            yield predict_job(predictor, job, settings)
        return
    count = min(workers, len(jobs), usable_cores())
    queue, deaths = deque(jobs), Counter[PhotoJob]()
    while queue:
        suspects = yield from _run_in_processes(queue, settings, count, deaths, hang_seconds)
        for job in suspects:
            deaths[job] += 1
            if deaths[job] >= WORKER_DEATHS:
                yield _died(job, settings)
            else:
                queue.appendleft(job)


def _run_in_processes(queue: deque[PhotoJob], settings: BatchSettings, count: int, deaths: Counter[PhotoJob],
                      hang_seconds: float) -> Iterator[PhotoResult]:
    """Run `queue`'s jobs (taking them off it) in `count` new processes until it is empty or one of
    them dies; returns the jobs the processes held when one died. A job that was held by a dead
    process before runs alone."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from f2p_engine.synth.dataset import single_threaded_workers

    running: dict[Future[PhotoResult], PhotoJob] = {}
    executor = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=init_worker, initargs=(settings,))

    def submit() -> None:
        while queue and not any(deaths[j] for j in running.values()):
            if (deaths[queue[0]] and running) or len(running) >= count:
                return
            job = queue.popleft()
            running[executor.submit(worker_job, job)] = job

    try:
        with single_threaded_workers():  # the processes start with the first submissions
            submit()
        while running:
            finished, _ = wait(running, timeout=hang_seconds, return_when=FIRST_COMPLETED)
            if not finished:
                raise F2PError(f"no photo finished in {hang_seconds:g} s: the worker processes hung and were "
                               "stopped; rerun the command to resume")
            for future in finished:
                try:
                    result = future.result()
                except BrokenProcessPool:  # a worker died: every photo still running is a suspect
                    return list(running.values())
                del running[future]
                yield result
            submit()
        return []
    finally:
        _stop(executor)


def _stop(executor: Any) -> None:
    """Stop an executor's worker processes now, whatever they are doing."""
    # The executor has no public way to kill its processes: shutdown() waits for the photos they hold.
    processes = list((executor._processes or {}).values())
    # Its own thread joins them too, and whichever thread's waitpid loses that race sees no child: wait
    # for that thread before joining, or a reaped process can still be listed alive (CI, once).
    manager = executor._executor_manager_thread
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    if manager is not None:
        manager.join(5)
    for process in processes:
        process.join(5)


class BatchReport:
    """The batch's JSON-lines report: one line appended (and flushed) per photo as it finishes, so an
    interrupted batch keeps what it did; a rerun appends, and the last line per photo counts. A torn
    last line (a crash mid-write) is cut off first; OSErrors name the report."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("a+b")
            _cut_torn_line(self._handle)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(path)) from None

    def add(self, result: PhotoResult) -> None:
        try:
            self._handle.write(json.dumps(result.record()).encode() + b"\n")
            self._handle.flush()
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None

    def close(self) -> None:
        try:
            self._handle.close()
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None

    def __enter__(self) -> BatchReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut_torn_line(handle: Any) -> None:
    """Truncate a file open for appending after its last line break (a line cut short by a crash would
    otherwise join the next line written)."""
    end = handle.seek(0, os.SEEK_END)
    position = end
    while position > 0:
        step = min(position, 1 << 16)
        handle.seek(position - step)
        block = handle.read(step)
        newline = block.rfind(b"\n")
        if newline >= 0:
            position = position - step + newline + 1
            break
        position -= step
    if position != end:
        handle.truncate(position)


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
    report_path = settings.output / REPORT_NAME
    records = read_report(report_path)
    settings = replace(settings, models_id=models_id(settings.models), written=written_files(records))
    todo, done = plan_batch(photos, settings, records)  # every name decided before any work
    settings.output.mkdir(parents=True, exist_ok=True)
    if progress:
        for _ in done:
            progress(None)
    results = []
    with BatchReport(report_path) as report:
        results_of = runner or (lambda jobs, batch: run_batch(jobs, batch, workers))
        for result in results_of(todo, settings):
            report.add(result)
            results.append(result)
            if progress:
                progress(result)
    return results, len(done)
