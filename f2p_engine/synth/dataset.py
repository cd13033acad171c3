"""Synthetic dataset on disk: sharded writer (parallel, resumable, deterministic) and numpy reader.

Layout of a dataset directory:
- `manifest.json`: written last; `count`, `seed`, `size`, `schema_version`, `generator_version`,
  `shard_size`, `shards` (directory names in index order), `arrays` (name -> dtype and per-sample
  shape), `parameters` (continuous names, schema order), `discrete_groups` (name -> options),
  `labels` (region label names by id), `regions` (box order), `eye_targets` (aligned pixels),
  `crop_boxes` (boxes of the mean aligned landmarks), `augmentation` (the config used).
- `settings.json`: seed, size, shard size, generator and schema versions; written first, so a
  resumed run refuses a directory made with other settings.
- `shard-<first>-<end>/` (sample indices first..end-1, 7 digits each): one `.npy` per array,
  first axis the sample: `images` (n, S, S, 3) uint8 RGB, `labels` (n, S, S) uint8 region ids,
  `landmarks` (n, 68, 2) float32 aligned pixels, `boxes` (n, 7, 4) int32, `continuous` (n, P)
  float32 in [0, 1], `discrete` (n, G) int64, `pose` (n, 3) float32 degrees, `index` (n,) int64,
  `descriptor` (n, 128) float32 dlib identity descriptor of the image (left out by
  `GenerateSettings(descriptors=False)`, `f2p generate --no-descriptors`), `mesh_points` (n, 468, 2)
  float32 aligned pixels of the vertices playing MediaPipe's mesh points (since f2p-synth-5); `arrays`
  in the manifest lists the arrays a dataset has.
  Plain `.npy` files: memory-mappable (`np.load(..., mmap_mode="r")`), byte-identical for a seed.
A shard directory appears by an atomic rename when complete, so an interrupted run resumes by
making only the missing (or damaged) shards; the manifest is replaced only once the new one is complete.
The reader (`synth.reader`) validates all of this when a dataset is opened.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import multiprocessing.pool
import multiprocessing.resource_tracker
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.face.align import eye_targets, region_boxes
from f2p_engine.files import atomic_directory, atomic_output
from f2p_engine.headmodel import schema
from f2p_engine.render.regions import LABELS
from f2p_engine.synth.augment import AugmentConfig
from f2p_engine.synth.factory import Sample, SampleFactory
from f2p_engine.synth.reader import (
    MANIFEST,
    ArraySpec,
    DatasetManifest,
    array_specs,
    is_shard_name,
    shard_name,
    shard_problem,
    shard_ranges,
)

log = logging.getLogger(__name__)

# 2: rendered straight into the aligned frame; 3: skin lit per vertex; 4: identity descriptor per sample;
# 5: landmark vertices picked against the MediaPipe face finder, and its 468 mesh points per sample;
# 6: MakeHuman's hair, eyebrow and eyelash proxies drawn, hair colour, beards, the hair label
GENERATOR_VERSION = "f2p-synth-6"
SETTINGS = "settings.json"
DEFAULT_SHARD_SIZE = 200
#: One shard to make: (dataset folder, seed, first sample, end sample).
ShardJob = tuple[Path, int, int, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateSettings:
    """What determines a dataset's bytes (besides `count`, which only decides how many)."""

    seed: int
    size: int = 256
    shard_size: int = DEFAULT_SHARD_SIZE
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)
    descriptors: bool = True  # store each sample's identity descriptor (90% of a sample's CPU time)

    def as_dict(self) -> dict:
        # `descriptors` is written only when off, so datasets made before the option still resume.
        return {"seed": self.seed, "size": self.size, "shard_size": self.shard_size,
                "augmentation": asdict(self.augmentation), "generator_version": GENERATOR_VERSION,
                "schema_version": schema.SCHEMA_VERSION, **({} if self.descriptors else {"descriptors": False})}


def _specs(settings: GenerateSettings) -> dict[str, ArraySpec]:
    """The arrays this generator writes with `settings` (`SampleFactory` makes them so)."""
    specs = array_specs(settings.size, len(schema.CONTINUOUS), len(schema.DISCRETE_GROUPS), len(schema.LOCAL_REGIONS))
    return {name: spec for name, spec in specs.items() if settings.descriptors or name != "descriptor"}


# -- workers -------------------------------------------------------------------------------------
#: Worker processes run one per core: the renderer's rasteriser threads and BLAS threads would only
#: compete with the other workers (measured: threaded BLAS made mesh evaluation 9x slower under load).
WORKER_ENVIRONMENT = {"LP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                       "MKL_NUM_THREADS": "1"}
_factory: SampleFactory | None = None


def _init_worker(size: int, config: AugmentConfig, descriptors: bool) -> None:
    """Process initialiser: one head model and GL renderer per worker process; OpenCV single-threaded
    like the rest (its thread pool only competes with the other workers)."""
    import cv2

    global _factory
    cv2.setNumThreads(1)
    _factory = SampleFactory(size, config, descriptors)


@contextlib.contextmanager
def single_threaded_workers() -> Iterator[None]:
    """Set `WORKER_ENVIRONMENT` and block Ctrl-C while worker processes start (they inherit both).

    Workers never see SIGINT (a terminal sends it to every process of the group): only this
    process gets the KeyboardInterrupt, once the workers exist, and stops them quietly.
    """
    saved = {name: os.environ.get(name) for name in WORKER_ENVIRONMENT}
    os.environ.update(WORKER_ENVIRONMENT)
    # Started first: starting it later unblocks SIGINT in this process behind our back.
    multiprocessing.resource_tracker.ensure_running()
    # The mask is per thread: a Ctrl-C delivered to another thread of this process (tqdm's, onnxruntime's)
    # would still interrupt the main thread mid-spawn (the half-started worker then prints a
    # traceback). So the main thread also only notes a Ctrl-C meanwhile, and raises it afterwards.
    noted: list[int] = []
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda number, _frame: noted.append(number)) if main_thread else None
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if main_thread:
            signal.signal(signal.SIGINT, previous)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    if noted:
        signal.raise_signal(signal.SIGINT)  # the Ctrl-C, now that the workers exist


@contextlib.contextmanager
def spawned_pool(workers: int, initializer: Callable[..., None],
                 initargs: tuple) -> Iterator[multiprocessing.pool.Pool]:
    """A pool of `workers` spawned processes started under `single_threaded_workers`; leaving the block
    (an error, or a Ctrl-C, even one noted while the workers started) terminates them."""
    # Spawned, not forked: a fresh interpreter reads the thread settings when it loads numpy.
    context = multiprocessing.get_context("spawn")
    with contextlib.ExitStack() as stack:
        with single_threaded_workers():
            pool = stack.enter_context(context.Pool(workers, initializer=initializer, initargs=initargs))
        yield pool


def _columns(sample: Sample) -> dict[str, np.ndarray]:
    """One sample's row of every shard array it has (`ARRAYS` order)."""
    columns = {"images": sample.image, "labels": sample.labels, "landmarks": sample.landmarks, "boxes": sample.boxes,
               "continuous": sample.continuous, "discrete": sample.discrete, "pose": sample.pose,
               "index": np.int64(sample.index), "descriptor": sample.descriptor, "mesh_points": sample.mesh_points}
    return {name: value for name, value in columns.items() if value is not None}


def _make_shard(job: ShardJob) -> int:
    """Render samples first..end-1 and write them as one shard directory; returns the sample count.

    Samples go straight into memory-mapped `.npy` files (the page cache): no list of samples, no
    np.stack, no second copy by write(), which cost the worker ~0.5 ms of kernel time per sample."""
    folder, seed, first, end = job
    with atomic_directory(folder / shard_name(first, end)) as temporary:
        arrays: dict[str, np.memmap] = {}
        for row, index in enumerate(range(first, end)):
            columns = _columns(_factory.make(seed, index))
            for name, value in columns.items():
                if name not in arrays:
                    arrays[name] = np.lib.format.open_memmap(temporary / f"{name}.npy", mode="w+",
                                                             dtype=value.dtype, shape=(end - first, *value.shape))
                arrays[name][row] = value
        arrays.clear()  # unmaps the files
    return end - first


# -- writer --------------------------------------------------------------------------------------
def _check_settings(folder: Path, settings: GenerateSettings) -> None:
    path = folder / SETTINGS
    wanted = settings.as_dict()
    if path.exists():
        try:
            found = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            found = None
        if not isinstance(found, dict):
            raise InputError(f"{path}: unreadable; remove it or choose another output directory")
        if found != wanted:
            differing = sorted(k for k in wanted if found.get(k) != wanted[k])
            raise InputError(f"{folder}: holds a dataset made with other settings ({', '.join(differing)}); "
                             "choose another output directory")
        return
    if any(folder.iterdir()):
        raise InputError(f"{folder}: not empty and not an f2p dataset; choose another output directory")
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(wanted, indent=2) + "\n")


#: Makes shards and yields each one's sample count as it completes (in any order).
ShardRunner = Callable[[Sequence[ShardJob], GenerateSettings], Iterator[int]]


def process_pool(workers: int) -> ShardRunner:
    """The local runner: `workers` spawned processes on this machine, one thread each."""

    def run(todo: Sequence[ShardJob], settings: GenerateSettings) -> Iterator[int]:
        with spawned_pool(min(workers, len(todo)), _init_worker,
                          (settings.size, settings.augmentation, settings.descriptors)) as pool:
            yield from pool.imap_unordered(_make_shard, todo)

    return run


def make_shard_in_worker(job: ShardJob, settings: GenerateSettings) -> int:
    """`_make_shard` in a long-lived worker of another runner (a Ray worker): the worker's factory is
    made on its first shard and kept for the next ones of the same settings."""
    if (_factory is None or _factory.size != settings.size or _factory.config != settings.augmentation
            or _factory.descriptors != settings.descriptors):
        _init_worker(settings.size, settings.augmentation, settings.descriptors)
    return _make_shard(job)


def generate(folder: Path, count: int, settings: GenerateSettings, workers: int = 1,
             progress: Callable[[int], None] | None = None, runner: ShardRunner | None = None) -> DatasetManifest:
    """Write (or complete) a dataset of `count` samples in `folder`; returns the manifest.

    Shards already present and well-formed are kept (resume); damaged ones are made again. The old
    manifest stays until the new one is complete, and shards of an old, larger count are removed
    only after it. `progress(n)` is called as n more samples are done. `runner` makes the missing
    shards (default `process_pool(workers)`: one process per core is best, each rendering with one
    thread; `synth.cluster.ray_runner` spreads them over a Ray cluster).
    """
    folder.mkdir(parents=True, exist_ok=True)
    _check_settings(folder, settings)
    for stale in folder.glob(".shard-*.part"):
        shutil.rmtree(stale, ignore_errors=True)
    ranges = shard_ranges(count, settings.shard_size)
    specs = _specs(settings)
    todo = []
    for first, end in ranges:
        problem = shard_problem(folder / shard_name(first, end), end - first, specs)
        if problem is None:
            continue
        if (folder / shard_name(first, end)).exists():
            log.warning("%s; making it again", problem)
        todo.append((folder, settings.seed, first, end))
    done_already = count - sum(b - a for _, _, a, b in todo)
    if progress and done_already:
        progress(done_already)
    log.info("%s: %d of %d samples present, %d shards to make", folder, done_already, count, len(todo))
    if todo:
        try:
            for made in (runner or process_pool(workers))(todo, settings):
                if progress:
                    progress(made)
        finally:  # a worker stopped mid-shard leaves its staging folder
            for partial in folder.glob(".shard-*.part"):
                shutil.rmtree(partial, ignore_errors=True)
    manifest = build_manifest(folder, count, settings)
    with atomic_output(folder / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    wanted = {shard_name(a, b) for a, b in ranges}
    for old in folder.iterdir():
        if is_shard_name(old.name) and old.name not in wanted:
            shutil.rmtree(old)
    return manifest


def build_manifest(folder: Path, count: int, settings: GenerateSettings) -> DatasetManifest:
    """The manifest of the complete shards of `count` samples in `folder` (crop boxes from their landmarks)."""
    shards = [shard_name(a, b) for a, b in shard_ranges(count, settings.shard_size)]
    total = np.zeros((68, 2), dtype=np.float64)
    for name in shards:
        landmarks = np.load(folder / name / "landmarks.npy", mmap_mode="r")
        total += landmarks.sum(axis=0, dtype=np.float64)
    boxes = region_boxes(total / max(count, 1), settings.size)
    return DatasetManifest(
        count=count, seed=settings.seed, size=settings.size, shard_size=settings.shard_size,
        augmentation=asdict(settings.augmentation), generator_version=GENERATOR_VERSION,
        schema_version=schema.SCHEMA_VERSION, shards=tuple(shards), arrays=_specs(settings),
        parameters=tuple(p.name for p in schema.CONTINUOUS),
        discrete_groups={g.name: tuple(g.options) for g in schema.DISCRETE_GROUPS},
        labels=tuple(LABELS), regions=tuple(schema.LOCAL_REGIONS),
        eye_targets=tuple(tuple(float(v) for v in t) for t in eye_targets(settings.size)),
        crop_boxes={region: tuple(box.as_list()) for region, box in boxes.items()})
