"""Shipped face models: `resources/face/` (MediaPipe's detectors, 468-point mesh, selfie segmentation and
iris model, dlib's identity ResNet, all as ONNX) -> sessions.

Every file is checked against the sha256 in `resources/face/manifest.json` before onnxruntime sees it
(missing or tampered file: AssetError naming it). Sessions are made once per process and folder.
The MediaPipe models are built by `scripts/build_face_models.py` (Apache-2.0, The MediaPipe Authors),
the identity ResNet by `scripts/build_identity_model.py` (CC0, Davis E. King).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from f2p_engine.errors import AssetError
from f2p_engine.face.sessions import verified_session
from f2p_engine.files import resources_dir

FaceModelName = Literal["face_detection_short_range", "face_detection_full_range", "face_landmark",
                        "selfie_segmentation", "iris_landmark"]
IDENTITY_MODEL = "dlib_face_recognition_resnet"
_REBUILD = "rebuild with scripts/build_face_models.py and scripts/build_identity_model.py"


@dataclass(frozen=True, slots=True, kw_only=True)
class FaceModel:
    """One verified model: `outputs` takes (side, side, 3) uint8 RGB and returns the model's outputs.

    `side`: input size in pixels; `input_range`: what pixel values 0 and 255 become.
    """

    name: str
    side: int
    input_range: tuple[float, float]
    session: Any

    def outputs(self, pixels: np.ndarray) -> list[np.ndarray]:
        """Every output of one (side, side, 3) uint8 image, batch axis dropped."""
        low, high = self.input_range
        batch = (pixels.astype(np.float32) * np.float32((high - low) / 255.0) + np.float32(low))[None]
        return [output[0] for output in self.session.run(None, {"image": batch})]

    def run(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(coordinates, logits) of a detector or the landmark model for one (side, side, 3) uint8 image."""
        coordinates, logits = self.outputs(pixels)
        return coordinates, logits


def face_models_dir() -> Path:
    return resources_dir() / "face"


@functools.cache
def _manifest(directory: Path) -> dict[str, Any]:
    path = directory / "manifest.json"
    try:
        return json.loads(path.read_text())["models"]
    except (OSError, ValueError, KeyError) as exc:
        raise AssetError(f"{path}: face model manifest missing or unreadable ({exc}); {_REBUILD}") from None


@functools.cache
def _verified_session(directory: Path, name: str) -> tuple[dict[str, Any], Any]:
    """The model's manifest entry and an onnxruntime session of its verified file."""
    try:
        entry = _manifest(directory)[name]
    except KeyError:
        raise AssetError(f"{directory / 'manifest.json'}: no face model {name!r}; {_REBUILD}") from None
    return entry, verified_session(directory / entry["file"], entry["sha256"], kind="face model",
                                   manifest="resources/face/manifest.json", remedy=_REBUILD)


@functools.cache
def _load(directory: Path, name: str) -> FaceModel:
    entry, session = _verified_session(directory, name)
    low, high = entry["input_range"]
    return FaceModel(name=name, side=int(entry["input_side"]), input_range=(float(low), float(high)), session=session)


def face_model(name: FaceModelName) -> FaceModel:
    """The verified model `name` from the shipped folder (F2P_RESOURCES or the bundle may move it)."""
    return _load(face_models_dir(), name)


def identity_session() -> Any:
    """The verified onnxruntime session of dlib's identity ResNet: (N, 150, 150, 3) uint8 RGB chips
    "chip" -> (N, 128) float32 "descriptor" (see `face.identity`)."""
    return _verified_session(face_models_dir(), IDENTITY_MODEL)[1]
