#!/usr/bin/env python3
"""Build the shipped face models `resources/face/` from MediaPipe's Apache-2.0 models.

Source: the `mediapipe==0.10.21` wheel for cp311 manylinux_2_28 x86_64 (downloaded with
`pip download --no-deps`, never installed; checked against its pinned sha256). Five .tflite files
are taken from it: the short-range face detector (128 px), the full-range sparse face detector
(192 px), the 468-point face landmark model (192 px), the selfie segmentation model (256 px,
person / background, read by `face.hair`) and the iris landmark model (64 px eye crops, read by
`face.colour`). Each is converted to ONNX so the product runs every
model on the onnxruntime it already ships:
1. the full-range model's sparse weights are densified (its DENSIFY ops replaced by their constant
   outputs, read from LiteRT's reference kernels): tf2onnx cannot read sparse tensors;
2. tf2onnx converts the .tflite (opset 17, NHWC input kept);
3. the graph is tidied without changing a single output bit: MediaPipe's custom transposed convolution
   (the segmentation model's last layer) becomes ONNX's ConvTranspose; PRelu becomes Relu/Neg/Mul/Sub (the
   same float operations; onnxruntime's broadcasting PRelu is 3x slower than the whole rest of the
   landmark model), weights that are exact in float16 (they were float16 in the .tflite) are stored
   as float16 behind a Cast (half the size), and every name is renumbered in graph order (tf2onnx's
   names differ from run to run, so without this the build is not reproducible).
4. parity: on crops of real photos, every output of the ONNX model must agree with ai-edge-litert
   running the original .tflite within 1e-4 in the models' normalised units (coordinates divided by
   the input size, scores and the person mask as probabilities). The build fails otherwise.

The build tools (tensorflow-cpu, tf2onnx, ai-edge-litert, pinned below) live in a private virtual
environment under --work, created on first use: they never enter the product's environment.
Rerunning the build writes byte-identical files.
Usage: python scripts/build_face_models.py [--work DIR] [--out resources/face] [--photos FILE ...]
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
WHEEL = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
DOWNLOAD = ["--no-deps", "--only-binary", ":all:", "--platform", "manylinux_2_28_x86_64", "--python-version",
            "3.11", "--implementation", "cp", "--abi", "cp311", "mediapipe==0.10.21"]
LICENCE_MEMBER = "mediapipe-0.10.21.dist-info/LICENSE"
LICENCE_FILE = "LICENSE-mediapipe.txt"
BUILD_TOOLS = ["tensorflow-cpu==2.21.0", "tf2onnx==1.17.0", "onnx==1.23.2", "onnxruntime==1.32.0",
               "ai-edge-litert==2.3.0", "numpy==2.4.6", "scikit-image==0.26.0",
               "opencv-python-headless==5.0.0.93"]
OPSET = 17
#: Largest difference allowed between ONNX and LiteRT outputs, in normalised units.
PARITY = 1e-4
#: Models held to another bound. LiteRT runs MediaPipe's custom transposed convolution only in its XNNPACK
#: delegate, whose kernels differ from onnxruntime's by up to 7.4e-4 in the person probability (median of the
#: per-image maxima 5e-5; 1 mask pixel of 5.2 million flips at 0.5, on the astronaut and the 7 dev photos).
PARITY_BY_MODEL = {"selfie_segmentation": 1e-3}
#: name -> (member of the wheel, input side, output names, pixel range of the input). Detectors and the
#: landmark model give (coordinates, logits); the segmentation model gives one person probability per pixel;
#: the iris model the eye's contour and the iris (centre and four points on its edge) on a 64 px eye crop.
MODELS = {
    "face_detection_short_range": ("mediapipe/modules/face_detection/face_detection_short_range.tflite", 128,
                                   ("boxes", "scores"), (-1.0, 1.0)),
    "face_detection_full_range": ("mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite", 192,
                                  ("boxes", "scores"), (-1.0, 1.0)),
    "face_landmark": ("mediapipe/modules/face_landmark/face_landmark.tflite", 192, ("mesh", "presence"), (0.0, 1.0)),
    "selfie_segmentation": ("mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite", 256, ("person",),
                            (0.0, 1.0)),
    "iris_landmark": ("mediapipe/modules/iris_landmark/iris_landmark.tflite", 64, ("eye_contour", "iris"),
                      (-1.0, 1.0)),
}
#: What each output holds, for the parity check: pixel coordinates (compared / the input side), logits
#: (compared as probabilities) or probabilities.
OUTPUT_UNITS = {"boxes": "pixels", "scores": "logits", "mesh": "pixels", "presence": "logits",
                "person": "probability", "eye_contour": "pixels", "iris": "pixels"}
_DENSIFY = 124  # TFLite builtin operator code
#: MediaPipe's custom TFLite operator in the segmentation model (see `_transpose_conv_bias`).
_TRANSPOSE_CONV_BIAS = "Convolution2DTransposeBias"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_python(work: Path) -> Path:
    """Python of the private build environment (created with the pinned tools on first use)."""
    venv = work / f"venv-{sha256_bytes(' '.join(BUILD_TOOLS).encode())[:10]}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *BUILD_TOOLS], check=True)
    return python


def fetch_wheel(work: Path, wheel: str = WHEEL, sha256: str = WHEEL_SHA256, download: list[str] = DOWNLOAD) -> Path:
    """The wheel in `work` (downloaded with `pip download` if absent), checked against its pinned sha256."""
    path = work / wheel
    if not path.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "-d", str(work), *download], check=True)
    actual = sha256_bytes(path.read_bytes())
    if actual != sha256:
        raise SystemExit(f"{path}: sha256 {actual} does not match the pinned {sha256}")
    return path


def densified(tflite: bytes) -> bytes:
    """The model with each DENSIFY op replaced by its (constant) output tensor; unchanged if it has none."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(tflite))
    graph = model.subgraphs[0]
    codes = [max(code.builtinCode, code.deprecatedBuiltinCode) for code in model.operatorCodes]
    if _DENSIFY not in {codes[op.opcodeIndex] for op in graph.operators}:
        return tflite
    # The reference kernels, not XNNPACK: the delegate consumes sparse weights itself and never
    # fills the DENSIFY outputs.
    interpreter = Interpreter(model_content=tflite, experimental_preserve_all_tensors=True,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    interpreter.invoke()
    kept = []
    for op in graph.operators:
        if codes[op.opcodeIndex] != _DENSIFY:
            kept.append(op)
            continue
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(interpreter.get_tensor(op.outputs[0]).tobytes(), np.uint8).copy()
        model.buffers.append(buffer)
        graph.tensors[op.outputs[0]].buffer = len(model.buffers) - 1
        sparse = graph.tensors[op.inputs[0]]
        model.buffers[sparse.buffer].data = None
        sparse.buffer, sparse.sparsity = 0, None
    graph.operators = kept
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def converted(tflite: bytes, scratch: Path) -> bytes:
    """tf2onnx's ONNX of a .tflite (run with a fixed hash seed; its names still vary, see `tidied`)."""
    source, target = scratch / "model.tflite", scratch / "model.onnx"
    source.write_bytes(tflite)
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tflite", str(source), "--output", str(target),
                    "--opset", str(OPSET)], check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return target.read_bytes()


def tidied(onnx_bytes: bytes, input_name: str, output_names: tuple[str, ...], graph_name: str = "mediapipe") -> bytes:
    """Same outputs bit for bit, faster PRelu, float16 storage of float16-exact weights, canonical names."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(onnx_bytes)
    graph = model.graph
    nodes = []
    for node in graph.node:
        if node.op_type == "TFL_" + _TRANSPOSE_CONV_BIAS:
            nodes += _transpose_conv_bias(node, graph)
            continue
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        # x > 0: x - slope * 0 = x; x < 0: 0 - slope * (-x) = slope * x, exactly PRelu's products.
        (x, slope), y = node.input, node.output[0]
        nodes += [helper.make_node("Relu", [x], [y + "/pos"]), helper.make_node("Neg", [x], [y + "/neg_x"]),
                  helper.make_node("Relu", [y + "/neg_x"], [y + "/neg"]),
                  helper.make_node("Mul", [y + "/neg", slope], [y + "/scaled"]),
                  helper.make_node("Sub", [y + "/pos", y + "/scaled"], [y])]
    # Weights exact in float16 are stored so and cast back just before their first use (graph order,
    # which unlike tf2onnx's initializer order is the same on every run).
    halves, initializers = {}, []
    for tensor in graph.initializer:
        values = numpy_helper.to_array(tensor)
        half = values.astype(np.float16)
        if values.dtype == np.float32 and values.size >= 16 and np.array_equal(half.astype(np.float32), values):
            halves[tensor.name] = numpy_helper.from_array(half, tensor.name + "/f16")
            initializers.append(halves[tensor.name])
        else:
            initializers.append(tensor)
    ordered_nodes = []
    for node in nodes:
        for name in node.input:
            if name in halves and halves[name] is not None:
                ordered_nodes.append(helper.make_node("Cast", [name + "/f16"], [name], to=onnx.TensorProto.FLOAT))
                halves[name] = None
        ordered_nodes.append(node)
    nodes = ordered_nodes
    # Renumber: tensors in order of first use, nodes in graph order; graph input/outputs get role names.
    names = {graph.input[0].name: input_name} | {o.name: n for o, n in zip(graph.output, output_names, strict=True)}
    by_name = {t.name: t for t in initializers}
    ordered = []
    for node in nodes:
        for name in (*node.input, *node.output):
            if name and name not in names:
                names[name] = f"w{len(ordered)}" if name in by_name else f"t{len(names)}"
                if name in by_name:
                    ordered.append(by_name[name])
    for i, node in enumerate(nodes):
        node.name = f"n{i}"
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names[n] for n in node.output]
    for tensor in ordered:
        tensor.name = names[tensor.name]
    for value in (*graph.input, *graph.output):
        value.name = names[value.name]
    del graph.node[:], graph.initializer[:], graph.value_info[:]
    graph.node.extend(nodes)
    graph.initializer.extend(ordered)
    graph.name, graph.doc_string, model.doc_string = graph_name, "", ""
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _transpose_conv_bias(node, graph) -> list:
    """ONNX nodes for MediaPipe's custom Convolution2DTransposeBias (the segmentation model's last layer,
    which tf2onnx leaves as a TFLite op): on an NHWC input, a transposed convolution with bias whose stride
    is its 2x2 kernel (it doubles the size, as the model's 128 -> 256 px output needs; parity checks it)."""
    from onnx import helper, numpy_helper

    x, weight_name, bias = node.input
    weight = numpy_helper.to_array(next(t for t in graph.initializer if t.name == weight_name))  # (O, kH, kW, I)
    if weight.shape[1:3] != (2, 2):
        raise SystemExit(f"{_TRANSPOSE_CONV_BIAS}: kernel {weight.shape[1:3]}, only 2x2 (stride 2) is converted")
    graph.initializer.append(numpy_helper.from_array(weight.transpose(3, 0, 1, 2).copy(), weight_name + "/iohw"))
    y = node.output[0]
    return [helper.make_node("Transpose", [x], [y + "/nchw"], perm=[0, 3, 1, 2]),
            helper.make_node("ConvTranspose", [y + "/nchw", weight_name + "/iohw", bias], [y + "/conv"],
                             kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Transpose", [y + "/conv"], [y], perm=[0, 2, 3, 1])]


def parity_inputs(side: int, value_range: tuple[float, float], photos: list[Path]) -> list:
    """(1, side, side, 3) float32 inputs from real photos: the whole photo and a 3x3 grid of half-size crops."""
    import cv2
    import numpy as np
    from skimage import data

    pictures = [data.astronaut()] + [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in photos]
    low, high = value_range
    inputs = []
    for picture in pictures:
        h, w = picture.shape[:2]
        s = min(h, w)
        crops = [picture[(h - s) // 2:(h + s) // 2, (w - s) // 2:(w + s) // 2]]
        crops += [picture[y:y + s // 2, x:x + s // 2] for y in np.linspace(0, h - s // 2, 3).astype(int)
                  for x in np.linspace(0, w - s // 2, 3).astype(int)]
        for crop in crops:
            resized = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
            inputs.append((low + resized * ((high - low) / 255.0))[None])
    return inputs


def parity(tflite: bytes, onnx_bytes: bytes, side: int, value_range: tuple[float, float],
           output_names: tuple[str, ...], photos: list[Path]) -> float:
    """Largest |ONNX - LiteRT| over real photo crops, each output in its normalised units (`OUTPUT_UNITS`)."""
    import numpy as np
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    def normalised(name: str, values: np.ndarray) -> np.ndarray:
        values = values.ravel().astype(np.float64)
        unit = OUTPUT_UNITS[name]
        if unit == "logits":
            return 1 / (1 + np.exp(-np.clip(values, -100, 100)))
        return values / side if unit == "pixels" else values

    interpreter = Interpreter(model_content=tflite)
    interpreter.allocate_tensors()
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    worst = 0.0
    for x in parity_inputs(side, value_range, photos):
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        reference = [interpreter.get_tensor(o["index"]) for o in interpreter.get_output_details()]
        ours = session.run(None, {"image": x})
        for name, value, expected in zip(output_names, ours, reference, strict=True):
            worst = max(worst, float(np.abs(normalised(name, value) - normalised(name, expected)).max()))
    return worst


def build(work: Path, out: Path, photos: list[Path]) -> None:
    wheel = fetch_wheel(work)
    files: dict[str, dict] = {}
    with zipfile.ZipFile(wheel) as archive, tempfile.TemporaryDirectory() as scratch:
        licence = archive.read(LICENCE_MEMBER)
        outputs = {}
        for name, (member, side, output_names, value_range) in MODELS.items():
            tflite = archive.read(member)
            onnx_bytes = tidied(converted(densified(tflite), Path(scratch)), "image", output_names)
            worst = parity(tflite, onnx_bytes, side, value_range, output_names, photos)
            print(f"{name}: ONNX vs LiteRT max difference {worst:.2e} (normalised units)")
            bound = PARITY_BY_MODEL.get(name, PARITY)
            if worst > bound:
                raise SystemExit(f"{name}: ONNX differs from LiteRT by {worst:.2e} > {bound:g}; not shipped")
            outputs[f"{name}.onnx"] = onnx_bytes
            files[name] = {"file": f"{name}.onnx", "sha256": sha256_bytes(onnx_bytes), "input_side": side,
                           "input_range": list(value_range), "outputs": list(output_names),
                           "source": member, "source_sha256": sha256_bytes(tflite)}
            if name in PARITY_BY_MODEL:
                files[name]["parity_max"] = bound
    outputs[LICENCE_FILE] = licence
    # Entries of other builders (scripts/build_identity_model.py) are kept.
    previous = out / "manifest.json"
    kept = json.loads(previous.read_text())["models"] if previous.exists() else {}
    manifest = {
        "format": 1,
        "models": {name: entry for name, entry in kept.items() if name not in MODELS} | files,
        "source": {"wheel": WHEEL, "sha256": WHEEL_SHA256},
        "licence": {"name": "Apache-2.0", "holder": "The MediaPipe Authors", "file": LICENCE_FILE,
                    "sha256": sha256_bytes(licence)},
        "conversion": {"tools": BUILD_TOOLS, "opset": OPSET, "parity_max": PARITY},
    }
    outputs["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    write_files(out, outputs)


def write_files(out: Path, outputs: dict[str, bytes]) -> None:
    """Write each file into `out` beside, then rename: a failed build never leaves a half-written model."""
    out.mkdir(parents=True, exist_ok=True)
    for filename, payload in outputs.items():
        part = out / f".{filename}.part"
        part.write_bytes(payload)
        part.replace(out / filename)
        print(f"{out / filename}: {len(payload)} bytes, sha256 {sha256_bytes(payload)[:12]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "f2p" / "face-models",
                        help="download and build-environment folder (kept between runs)")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "face")
    parser.add_argument("--photos", type=Path, nargs="*", default=[],
                        help="more photos for the parity check (skimage's astronaut is always used)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    python = build_python(args.work.resolve())
    if Path(sys.executable).absolute() != python.absolute():
        os.execv(python, [str(python), __file__, *sys.argv[1:]])
    build(args.work.resolve(), args.out.resolve(), [p.resolve() for p in args.photos])


if __name__ == "__main__":
    main()
