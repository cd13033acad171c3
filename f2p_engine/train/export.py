"""ONNX export with a structural check and an onnxruntime parity check against torch."""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
import torch
from torch import nn

from f2p_engine.files import atomic_output
from f2p_engine.nets.spec import IMAGE_INPUT

OPSET = 17
PARITY_TOLERANCE = 1e-4


class ExportError(RuntimeError):
    """The exported graph is invalid or disagrees with torch."""


def export_onnx(model: nn.Module, path: str | os.PathLike[str], example: torch.Tensor,
                output_names: tuple[str, ...] | None = None, tolerance: float = PARITY_TOLERANCE,
                input_name: str = IMAGE_INPUT) -> float:
    """Export `model` (in eval mode) to ONNX at `path`; return the largest |torch - onnxruntime| difference.

    `example`: float32 input named `input_name` ((N, 3, H, W) images by default, (N, 128)
    descriptors for identity models); the batch axis is exported as dynamic. The file is
    written only after `onnx.checker` passes and every output agrees within `tolerance` on
    `example`, else ExportError is raised and nothing is written.
    """
    import onnx
    import onnxruntime

    model = model.eval()
    names = output_names or getattr(getattr(model, "layout", None), "output_names", None) or ("output",)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs
        # onnxscript; this one needs nothing more and exports these plain CNNs exactly.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (example,), buffer, dynamo=False, opset_version=OPSET, input_names=[input_name],
                          output_names=list(names), dynamic_axes={n: {0: "batch"} for n in (input_name, *names)})
    data = buffer.getvalue()
    try:
        onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"ONNX checker rejected the export: {exc}") from exc

    with torch.no_grad():
        expected = model(example)
    expected = expected if isinstance(expected, tuple) else (expected,)
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session.run(list(names), {input_name: example.numpy()})
    worst = max(float(np.max(np.abs(e.numpy() - g))) for e, g in zip(expected, got, strict=True))
    if not worst <= tolerance:
        raise ExportError(f"onnxruntime and torch differ by {worst:.2e} (> {tolerance:.0e})")
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return worst
