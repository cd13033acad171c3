#!/usr/bin/env python3
"""Fuzz the input edges of issue 12: recipe files (.mhm and JSON) and image headers.

Every case is written to a file and read the way the commands read it (`read_recipe`,
`load_image`); the only allowed outcomes are a result or an `InputError`. Anything else is
counted as uncaught, a case over 10 s as a hang; peak memory is the process's maximum RSS.
Deterministic for a seed. Prints one line per area and exits 1 if any area has a failure.

    python3 scripts/fuzz_inputs.py [--recipes 20000] [--images 2000] [--seed 12]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the engine of this checkout; tests' image seeds

from hostile_images import flat_png, mutate, radiance_header, seed_images  # noqa: E402

from f2p_engine.errors import InputError  # noqa: E402
from f2p_engine.face.image import load_image  # noqa: E402
from f2p_engine.files import resources_dir  # noqa: E402
from f2p_engine.recipe import (  # noqa: E402
    MAX_RECIPE_BYTES,
    format_mhm,
    parse_mhm,
    read_recipe,
    recipe_to_dict,
)
from f2p_engine.synth.sampler import sample_recipes  # noqa: E402

HANG_SECONDS = 10


class Hang(Exception):
    """A case ran longer than HANG_SECONDS."""


@dataclass
class Tally:
    """Outcome counts of one area."""

    area: str
    tried: int = 0
    accepted: int = 0
    refused: int = 0
    uncaught: list[str] = field(default_factory=list)
    hangs: int = 0
    slowest: float = 0.0
    slowest_case: int = 0

    @property
    def survived(self) -> int:
        return self.accepted + self.refused

    def line(self) -> str:
        return (f"{self.area}: tried {self.tried}, survived {self.survived} ({self.accepted} read, {self.refused} "
                f"refused with one line), uncaught {len(self.uncaught)}, hangs over {HANG_SECONDS} s {self.hangs}, "
                f"slowest {self.slowest:.2f} s (case {self.slowest_case})")


def _alarm(signum: int, frame: object) -> None:
    raise Hang


def run_cases(tally: Tally, cases: Iterator[bytes], path: Path, read: Callable[[Path], object]) -> None:
    """Write each case to `path`, read it; count what happens."""
    signal.signal(signal.SIGALRM, _alarm)
    for data in cases:
        path.write_bytes(data)
        tally.tried += 1
        began = time.perf_counter()
        signal.alarm(HANG_SECONDS)
        try:
            read(path)
            tally.accepted += 1
        except InputError:
            tally.refused += 1
        except Hang:
            tally.hangs += 1
        except Exception:
            tally.uncaught.append(f"case {tally.tried}: {traceback.format_exc(limit=3)}")
        finally:
            signal.alarm(0)
        if time.perf_counter() - began > tally.slowest:
            tally.slowest, tally.slowest_case = time.perf_counter() - began, tally.tried


# -- recipes -------------------------------------------------------------------------------------
_HOSTILE_NUMBERS = ["nan", "inf", "-inf", "1e308", "-1e308", "1e-320", "0x10", "1_0", "٣", "+.5", "5", "-7",
                    "9" * 400, "", "1e", "--1"]
_HOSTILE_TEXT = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\0", ";", "#", " ", "\t", "é",
                 "\ud7ff", "modifier", "version v1.1.1", "name", "tags", "a" * 300]


def _read_back(path: Path) -> None:
    """Read like the commands do; what is accepted must also write and read back."""
    result = read_recipe(path)
    parse_mhm(format_mhm(result.recipe), "<again>")


def recipe_cases(rng: random.Random, count: int) -> Iterator[bytes]:
    seeds = [format_mhm(r) for r in sample_recipes(8, 12)]
    seeds.append((resources_dir() / "samples" / "synthetic_face.mhm").read_text())
    dicts = [recipe_to_dict(parse_mhm(text).recipe) for text in seeds]
    for index in range(count):
        kind = index % 40  # 13 .mhm edits, 13 JSON edits, 13 byte flips, 1 near or over the size limit
        if kind < 13:
            yield _mutated_mhm(rng, rng.choice(seeds)).encode("utf-8", "surrogatepass")
        elif kind < 26:
            yield _mutated_json(rng, json.loads(json.dumps(rng.choice(dicts))))
        elif kind < 39:
            yield _flipped(rng, rng.choice(seeds).encode())
        else:
            yield _oversized(rng, rng.choice(seeds))


def _mutated_mhm(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 6)):
        where = rng.randrange(len(lines) + 1)
        action = rng.random()
        if action < 0.4:
            name = rng.choice(["head/head-age-decr|incr", "head/head-oval", "ears/l-ear-lobe-decr|incr", "x", ""])
            lines.insert(where, f"modifier {name} {rng.choice(_HOSTILE_NUMBERS)}")
        elif action < 0.7:
            keyword = rng.choice(["name", "tags", "uuid", "skinMaterial", "eyebrows", "material", "camera", "x"])
            lines.insert(where, f"{keyword} {''.join(rng.choices(_HOSTILE_TEXT, k=rng.randint(0, 4)))}")
        elif lines and action < 0.85:
            del lines[min(where, len(lines) - 1)]
        elif lines:
            lines[min(where, len(lines) - 1)] += rng.choice(_HOSTILE_TEXT)
    return "\n".join(lines)


def _hostile_value(rng: random.Random, depth: int = 0) -> object:
    choice = rng.randrange(10)
    if choice == 0:
        return float(rng.choice(["nan", "inf", "-inf"]))
    if choice == 1:
        return rng.choice([10**400, -(10**30), 1e308, 5, -3, 0.5])
    if choice == 2:
        return "".join(rng.choices(_HOSTILE_TEXT, k=rng.randint(0, 5)))
    if choice == 3 and depth < 3:
        return [_hostile_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if choice == 4 and depth < 3:
        return {rng.choice(["a", "name", "format"]): _hostile_value(rng, depth + 1)}
    return rng.choice([None, True, False, "", "x", 1, 0.25])


def _mutated_json(rng: random.Random, data: dict) -> bytes:
    for _ in range(rng.randint(1, 4)):
        action = rng.random()
        pairs = data.get(rng.choice(["modifiers", "properties"]))
        if action < 0.5 and isinstance(pairs, list) and pairs and isinstance(pairs[0], list) and len(pairs[0]) == 2:
            pairs[rng.randrange(len(pairs))] = [_hostile_value(rng), pairs[0][1]] if rng.random() < 0.3 else [
                pairs[0][0], _hostile_value(rng)]
        elif action < 0.7:
            data[rng.choice(["name", "uuid", "tags", "properties", "modifiers", "format"])] = _hostile_value(rng)
        elif action < 0.8:
            depth = rng.choice([10, 500, 5000, 50000])
            data["deep"] = json.loads("[" * min(depth, 500) + "]" * min(depth, 500))
            if depth > 500:  # deeper than json.dumps can write: splice the text in
                text = json.dumps(data)
                return (text[:-1] + ', "deeper": ' + "[" * depth + "]" * depth + "}").encode()
        else:
            data.pop(rng.choice(list(data)), None)
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # let 10**400 be written; the reader keeps the limit
    try:
        text = json.dumps(data, ensure_ascii=rng.random() < 0.5)
    finally:
        sys.set_int_max_str_digits(limit)
    if rng.random() < 0.05:  # an integer too long for Python's int parsing
        text = text.replace("[", "[1" + "0" * 5000 + ", ", 1)
    return text.encode("utf-8", "surrogatepass")


def _flipped(rng: random.Random, data: bytes) -> bytes:
    mutable = bytearray(data)
    for _ in range(rng.randint(1, 20)):
        mutable[rng.randrange(len(mutable))] = rng.randrange(256)
    return bytes(mutable[: rng.randint(0, len(mutable))] if rng.random() < 0.3 else mutable)


def _oversized(rng: random.Random, text: str) -> bytes:
    """Near and over the size limit: thousands of repeated or bad lines."""
    line = rng.choice(["modifier head/head-age-decr|incr 5\n", "tags " + "t;" * 100 + "\n", "foo bar\n",
                       "modifier x nan\n"])
    target = rng.choice([MAX_RECIPE_BYTES // 8, MAX_RECIPE_BYTES - 64, MAX_RECIPE_BYTES + 1, 3 * MAX_RECIPE_BYTES])
    return (text + line * max(1, (target - len(text)) // len(line))).encode()


# -- images --------------------------------------------------------------------------------------
def image_cases(rng: random.Random, count: int) -> Iterator[bytes]:
    seeds = list(seed_images().values())
    for index in range(count):
        kind = index % 10
        if kind == 0:  # a Radiance header of any size, the case Pillow cannot size
            yield radiance_header(rng.choice([1, 100, 20000, 2**31 - 1]), rng.choice([1, 50, 15000, 2**31]))
        elif kind == 1:  # a valid PNG whose size is set here (decodes for real)
            yield flat_png(rng.randint(1, 600), rng.randint(1, 600))
        else:
            data = rng.choice(seeds)
            positions = [rng.randrange(64) for _ in range(rng.randint(1, 6))]
            values = [rng.randrange(256) for _ in positions]
            cut = rng.choice([None, None, None, rng.randrange(len(data) + 1)])
            yield mutate(data, positions, values, cut)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", type=int, default=20000)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        recipes = Tally("recipes")
        run_cases(recipes, recipe_cases(rng, args.recipes), Path(scratch) / "case.mhm", _read_back)
        images = Tally("image headers")
        run_cases(images, image_cases(rng, args.images), Path(scratch) / "case.img", load_image)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for tally in (recipes, images):
        print(tally.line())
        for failure in tally.uncaught[:5]:
            print(failure)
    print(f"peak memory {peak_mb:.0f} MB, {time.perf_counter() - began:.0f} s, seed {args.seed}")
    failed = any(t.uncaught or t.hangs for t in (recipes, images)) or peak_mb > 1024
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
