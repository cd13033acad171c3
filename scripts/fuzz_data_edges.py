"""Fuzz the data edges: model folders (`--models`), synthetic datasets (`--data`, contact sheets, training),
batch reports (`predict-report.jsonl`, read on every rerun), training configs (`train --config`) and studio
sessions (`--sessions`: saved sessions and the autosave, read back by `app.session`).

Each case damages a good input (a copy of the shipped model folder; a tiny dataset rendered at
start) in one random way: a JSON value replaced by random JSON, a key deleted, bytes flipped,
inserted or cut, deep nesting, a model file truncated or swapped (its hash updated), a shard array
replaced by one of another dtype, shape or values, a file emptied or removed. Most cases update the
manifest's checksum, as a determined user would, so the validators behind it are reached. Then the
reader runs as the commands run it (`load_manifest` + `Predictor`; `SyntheticDataset.open`, every
shard, every sample through `DatasetSource`). A case survives when it ends in a model or dataset,
or in an F2PError (one line, exit 2 at the command line); anything else is an uncaught exception.
A case running over 10 s is a hang.

A report case damages a report of two photos (one line replaced by random JSON or a key deleted,
bytes flipped or cut, a torn last line, deep nesting, bytes that are not UTF-8) and reads it as a
rerun does (`read_report`, `plan_batch`, the report opened for appending, its torn line cut). A
config case damages a valid training config the same ways and reads it as `f2p train` does
(`read_ensemble_config`, every member's net built once).

    python3 scripts/fuzz_data_edges.py --manifests 2000 --datasets 2000 --reports 2000 --configs 2000 \
        --sessions 2000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.session import Session, read_session, session_to_dict
from app.state import Photo
from f2p_engine.errors import F2PError
from f2p_engine.files import resources_dir, sha256_file
from f2p_engine.infer.batch import REPORT_NAME, BatchReport, BatchSettings, plan_batch, read_report, written_files
from f2p_engine.infer.manifest import CHECKSUM, MANIFEST, load_manifest, models_dir, seal_manifest
from f2p_engine.infer.pipeline import Predictor
from f2p_engine.synth.dataset import GenerateSettings, generate
from f2p_engine.synth.reader import ARRAYS, DatasetSource, SyntheticDataset

HANG_S = 10


class Hang(Exception):
    """A case ran longer than HANG_S seconds."""


def _alarm(_signum: int, _frame: object) -> None:
    raise Hang


def random_json(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(10 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2, 7, 117, 10**6, 10**30, -(10**30), 2**63, 10**400, -(10**1000)])
    if kind == 3:
        return rng.choice([0.0, -0.0, 1e-300, 1e308, float("nan"), float("inf"), -float("inf"), 0.5, -2.5])
    if kind == 4:
        return rng.choice(["", "x", "../x", "/etc/passwd", "face", "aggregate", "nose.onnx", "\n", "é" * 50])
    if kind == 5:
        return "[" * rng.randrange(1, 3000)  # a string; deep nesting as a document is `deep_nesting`
    if kind < 8:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["a", "name", "file", "shape", "dtype", "0"]): random_json(rng, depth + 1)
            for _ in range(rng.randrange(4))}


def json_paths(value: object, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:4]):
            paths += json_paths(item, (*prefix, index))
    return paths


def mutate_json(rng: random.Random, document: object) -> object:
    """A copy of `document` with one part replaced by random JSON, or deleted, or the whole replaced."""
    document = json.loads(json.dumps(document))
    path = rng.choice(json_paths(document))
    if not path:
        return random_json(rng)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if rng.random() < 0.2:
        del parent[path[-1]]
    else:
        parent[path[-1]] = random_json(rng)
    return document


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        action = rng.randrange(4)
        where = rng.randrange(max(len(data), 1))
        if action == 0 and data:
            data[where] ^= 1 << rng.randrange(8)
        elif action == 1:
            data[where:where] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
        elif action == 2:
            del data[where:where + rng.randrange(1, 64)]
        else:
            data = data[:where]
    return bytes(data)


def deep_nesting(rng: random.Random) -> str:
    depth = rng.choice([100, 1000, 5000, 100_000])
    return "[" * depth + "]" * depth


# -- model folders ---------------------------------------------------------------------------------
def model_case(rng: random.Random, folder: Path, shipped: dict) -> None:
    """Damage a fresh copy of the shipped model folder in `folder`, then load it as `f2p predict` does."""
    for file in models_dir().glob("*.onnx"):
        (folder / file.name).symlink_to(file)
    text = json.dumps(shipped)
    choice = rng.randrange(10)
    if choice < 6:
        text = json.dumps(mutate_json(rng, shipped))
    elif choice == 6:
        text = mutate_bytes(rng, text.encode()).decode("utf-8", errors="replace")
    elif choice == 7:
        text = deep_nesting(rng)
    else:  # a model file damaged, its hash updated in the manifest
        document = json.loads(text)
        entry = rng.choice(document["models"])
        target = folder / entry["file"]
        original = target.resolve().read_bytes()
        target.unlink()
        if choice == 8:
            target.write_bytes(mutate_bytes(rng, original) if rng.random() < 0.5 else original[: rng.randrange(200)])
        else:
            other = rng.choice(document["models"])["file"]
            target.write_bytes((models_dir() / other).read_bytes())
        entry["sha256"] = sha256_file(target)
        text = json.dumps(document)
    (folder / MANIFEST).write_text(text)
    if rng.random() < 0.9:
        seal_manifest(folder)
    else:
        (folder / CHECKSUM).write_bytes(mutate_bytes(rng, (models_dir() / CHECKSUM).read_bytes()))
    Predictor(load_manifest(folder))


# -- datasets --------------------------------------------------------------------------------------
SHARDS = ("shard-0000000-0000002", "shard-0000002-0000004")


def random_array(rng: random.Random, rows: int) -> np.ndarray:
    """An array of a random dtype, shape (first axis near `rows`) and fill value."""
    dtype = rng.choice(["uint8", "int32", "int64", "float32", "float64", "bool"])
    shape = [rng.choice([rows, rows - 1, rows + 1, 0])] + [rng.choice([0, 1, 2, 3, 68, 64, 117, 128])
                                                            for _ in range(rng.randrange(4))]
    values = rng.choice([0, 1, 255, -1, 1e30, float("nan"), float("inf")])
    if "int" in dtype or dtype in ("uint8", "bool"):
        values = int(abs(values)) % 256 if np.isfinite(values) else 0
    return np.full(shape, values, dtype=dtype)


def dataset_case(rng: random.Random, folder: Path, source: Path) -> None:
    """Damage a fresh copy of the tiny dataset in `folder`, then read all of it as the commands do."""
    shutil.copytree(source, folder)
    manifest = folder / MANIFEST
    choice = rng.randrange(10)
    if choice < 4:
        manifest.write_text(json.dumps(mutate_json(rng, json.loads(manifest.read_text()))))
    elif choice == 4:
        manifest.write_bytes(mutate_bytes(rng, manifest.read_bytes()))
    elif choice == 5:
        manifest.write_text(deep_nesting(rng))
    else:
        shard = folder / rng.choice(SHARDS)
        name = rng.choice(ARRAYS)
        path = shard / f"{name}.npy"
        if choice == 6:
            np.save(path, random_array(rng, 2))
        elif choice == 7:
            path.write_bytes(mutate_bytes(rng, path.read_bytes()))
        elif choice == 8:
            path.write_bytes(b"" if rng.random() < 0.5 else path.read_bytes()[: rng.randrange(128)])
        else:
            good = np.load(path)
            flat = good.reshape(-1).copy()
            if flat.size:
                index = rng.randrange(flat.size)
                flat[index] = rng.choice([np.nan, -1, 1e9, 255]) if flat.dtype.kind == "f" else \
                    rng.choice([-1, 9, 255, 2**31 - 1]) % (256 if flat.dtype == np.uint8 else 2**31)
            np.save(path, flat.reshape(good.shape))
    dataset = SyntheticDataset.open(folder)
    for shard in range(dataset.shard_count):
        dataset.arrays(shard)
    try:
        source_ = DatasetSource(dataset)
    except F2PError:
        return
    for index in range(len(source_)):
        sample = source_[index]
        np.asarray(sample.image).sum()


# -- batch reports ---------------------------------------------------------------------------------
def report_case(rng: random.Random, folder: Path) -> None:
    """A report of two photos (its outputs present), damaged, read and reopened as a rerun does."""
    photos = [folder / "a.png", folder / "b.png"]
    sample = (resources_dir() / "samples" / "synthetic_face.png").read_bytes()
    records = []
    for photo in photos:
        photo.write_bytes(sample)
        recipe = folder / f"{photo.stem}.mhm"
        recipe.write_text("version v1.1.1\n")
        records.append({"photo": str(photo), "outputs": [str(recipe)], "output_sha256": [sha256_file(recipe)],
                        "faces_found": 1, "confidences": [{"eyes": 0.5}], "timings_ms": {"total": 1.0},
                        "error": None, "photo_size": len(sample), "photo_sha256": sha256_file(photo), "models": ""})
    lines = [json.dumps(r) for r in records]
    choice = rng.randrange(10)
    if choice < 5:
        index = rng.randrange(len(lines))
        lines[index] = json.dumps(mutate_json(rng, records[index]))
    text = ("\n".join(lines) + "\n").encode()
    if choice in (5, 6):
        text = mutate_bytes(rng, text)
    elif choice == 7:
        text += text[: rng.randrange(len(text))]  # a torn last line
    elif choice == 8:
        text += deep_nesting(rng).encode() + b"\n"
    elif choice == 9:
        text = text.replace(b"a.png", rng.choice([b"\xff.png", b"\xed\xb3\xbf", b"\x00"]))
    report = folder / REPORT_NAME
    report.write_bytes(text)
    found = read_report(report)
    settings = BatchSettings(output=folder, written=written_files(found))
    plan_batch(photos, settings, found)
    BatchReport(report).close()
    if not report.read_bytes().endswith(b"\n") and report.stat().st_size:
        raise AssertionError("the torn last line was not cut")


# -- training configs ------------------------------------------------------------------------------
def config_case(rng: random.Random, folder: Path, good: dict) -> None:
    """A valid training config, damaged, read as `f2p train --config` reads it."""
    from f2p_engine.train.config_file import read_ensemble_config

    choice = rng.randrange(10)
    if choice < 6:
        text = json.dumps(mutate_json(rng, good)).encode()
    elif choice < 8:
        text = mutate_bytes(rng, json.dumps(good).encode())
    elif choice == 8:
        text = deep_nesting(rng).encode()
    else:
        text = b"\xef\xbb\xbf" + json.dumps(good).encode()  # a byte order mark: must be read
    path = folder / "config.json"
    path.write_bytes(text)
    config = read_ensemble_config(path)
    if choice == 9 and config.holdout_fraction != good["holdout_fraction"]:
        raise AssertionError("a config with a byte order mark was misread")


# -- studio sessions -------------------------------------------------------------------------------
def good_sessions(folder: Path) -> list[tuple[str, bytes]]:
    """(file name, bytes) of intact sessions: photo embedded (the autosave), photo by reference, none."""
    from f2p_engine.face.image import write_png
    from f2p_engine.synth.sampler import recipe_at

    pixels = np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    photo_file = folder / "photo.png"
    write_png(photo_file, pixels)
    recipe, predicted = recipe_at(5, 0), recipe_at(5, 1)
    sessions = [
        Session(recipe=recipe, predicted=predicted, confidence={"nose": 0.5}, face=1, view="side", overlay=True,
                photo=Photo(name="photo.png", pixels=pixels)),
        Session(recipe=recipe, predicted=predicted, photo=Photo(name="photo.png", pixels=pixels,
                                                                         path=photo_file)),
        Session(recipe=recipe),
    ]
    documents = []
    for index, session in enumerate(sessions):
        data = session_to_dict(session, embed_photo=index == 0)
        if index == 1:  # relative to the session, as a session saved beside its photo may hold it
            data["photo"]["path"] = "photo.png"
        documents.append((f"s{index}.f2psession", json.dumps(data).encode()))
    return documents


def session_case(rng: random.Random, folder: Path, source: Path, sessions: list[tuple[str, bytes]]) -> None:
    """Damage one intact session (JSON value, bytes, nesting, its photo file) and read it as the studio does."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "photo.png", folder / "photo.png")
    name, data = rng.choice(sessions)
    kind = rng.randrange(10)
    if kind < 6:
        data = json.dumps(mutate_json(rng, json.loads(data))).encode()
    elif kind < 8:
        data = mutate_bytes(rng, data)
    elif kind == 8:
        data = deep_nesting(rng).encode()
    else:  # the photo beside it damaged or gone
        photo = folder / "photo.png"
        if rng.random() < 0.5:
            photo.write_bytes(mutate_bytes(rng, photo.read_bytes()))
        else:
            photo.unlink()
    (folder / name).write_bytes(data)
    session = read_session(folder / name)
    if session.photo is not None:
        assert session.photo.pixels.ndim == 3
        assert session.photo.pixels.shape[2] == 3


# -- driver ----------------------------------------------------------------------------------------
def run(name: str, count: int, case: Callable[[random.Random, Path], None], seed: int, work: Path) -> dict:
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    slowest = 0.0
    for index in range(count):
        rng = random.Random(f"{seed}-{name}-{index}")
        folder = work / f"{name}-{index}"
        folder.parent.mkdir(parents=True, exist_ok=True)
        if name != "datasets":
            folder.mkdir()
        began = time.perf_counter()
        signal.alarm(HANG_S)
        try:
            case(rng, folder)
            outcomes["accepted"] += 1
        except F2PError as exc:
            outcomes["refused"] += 1
            if "\n" in str(exc):
                outcomes["multi-line message"] += 1
        except Hang:
            outcomes["hang"] += 1
            failures.append(f"case {index}: over {HANG_S} s")
        except Exception:  # what the fuzzer is looking for
            outcomes["uncaught"] += 1
            where = traceback.extract_tb(sys.exc_info()[2])[-1]
            failures.append(f"case {index}: {traceback.format_exc().strip().splitlines()[-1]} "
                            f"({Path(where.filename).name}:{where.lineno})")
        finally:
            signal.alarm(0)
            slowest = max(slowest, time.perf_counter() - began)
            shutil.rmtree(folder, ignore_errors=True)
    return {"tried": count, **outcomes, "slowest_s": round(slowest, 2), "failures": failures[:10]}


def main() -> int:
    parser = argparse.ArgumentParser(description="Fuzz model folders and synthetic datasets.")
    parser.add_argument("--manifests", type=int, default=2000)
    parser.add_argument("--datasets", type=int, default=2000)
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--configs", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if min(args.manifests, args.datasets, args.reports, args.configs, args.sessions) < 0:
        parser.error("counts must be at least 0")
    signal.signal(signal.SIGALRM, _alarm)
    shipped = json.loads((models_dir() / MANIFEST).read_text())
    with tempfile.TemporaryDirectory(prefix="f2p-fuzz-") as temporary:
        work = Path(temporary)
        source = work / "tiny"
        if args.datasets:
            generate(source, 4, GenerateSettings(seed=3, size=64, shard_size=2), workers=1)
        config = json.loads((Path(__file__).resolve().parent / "ensemble_config.json").read_text())
        if args.configs:  # torch's import, once, before the clock of the first case starts
            import f2p_engine.train.config_file  # noqa: F401
        source.mkdir(parents=True, exist_ok=True)
        sessions = good_sessions(source) if args.sessions else []
        began = time.perf_counter()
        results = {
            "manifests": run("manifests", args.manifests, lambda r, f: model_case(r, f, shipped), args.seed, work),
            "datasets": run("datasets", args.datasets, lambda r, f: dataset_case(r, f, source), args.seed, work),
            "reports": run("reports", args.reports, report_case, args.seed, work),
            "configs": run("configs", args.configs, lambda r, f: config_case(r, f, config), args.seed, work),
            "sessions": run("sessions", args.sessions, lambda r, f: session_case(r, f, source, sessions), args.seed,
                            work),
        }
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for area, result in results.items():
        survived = result["tried"] - result.get("uncaught", 0) - result.get("hang", 0)
        print(f"{area}: tried {result['tried']}, survived {survived} (accepted {result.get('accepted', 0)}, "
              f"refused with one line {result.get('refused', 0)}), uncaught {result.get('uncaught', 0)}, "
              f"hangs over {HANG_S} s {result.get('hang', 0)}, slowest case {result['slowest_s']} s")
        for failure in result["failures"]:
            print(f"  {failure}")
    print(f"peak memory {peak_mb:.0f} MB, {time.perf_counter() - began:.0f} s")
    bad = sum(r.get("uncaught", 0) + r.get("hang", 0) + r.get("multi-line message", 0) for r in results.values())
    return 1 if bad or peak_mb > 1024 else 0


if __name__ == "__main__":
    raise SystemExit(main())
