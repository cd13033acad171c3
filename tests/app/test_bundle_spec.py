"""pyinstaller.spec (the bundle itself is built and checked by scripts/build_bundle.sh, ~2 minutes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


class _Recorder:
    """Stands in for one of PyInstaller's build steps (Analysis, PYZ, EXE, COLLECT): keeps its arguments."""

    calls: dict[str, tuple[tuple[Any, ...], dict[str, Any]]]

    def __init__(self, name: str, calls: dict) -> None:
        self.name, self.calls = name, calls

    def __call__(self, *args: Any, **kwargs: Any) -> _Recorder:
        self.calls[self.name] = (args, kwargs)
        return self

    def __getattr__(self, item: str) -> list:  # analysis.pure, .scripts, .binaries, .datas
        return []


@pytest.fixture(scope="module")
def spec_calls() -> dict[str, tuple[tuple[Any, ...], dict[str, Any]]]:
    calls: dict = {}
    names = {n: _Recorder(n, calls) for n in ("Analysis", "PYZ", "EXE", "COLLECT")}
    spec = ROOT / "pyinstaller.spec"
    exec(compile(spec.read_text(), str(spec), "exec"), {"SPECPATH": str(ROOT), "__file__": str(spec), **names})
    return calls


def test_spec_bundles_the_app_and_the_data_the_engine_reads(spec_calls):
    ((entry,),), analysis = spec_calls["Analysis"]
    assert Path(entry) == ROOT / "app" / "__main__.py"
    assert all(Path(src).exists() for src, _ in analysis["datas"])
    pairs = {(Path(src).name, dest) for src, dest in analysis["datas"]}
    # `files.resources_dir()` looks exactly here inside the bundle.
    assert ("head", "resources/head") in pairs
    assert ("face", "resources/face") in pairs
    # dlib's identity ResNet (CC0) is, for the identity member; its 68-point model (training data
    # excludes commercial use) is not shipped in any form.
    assert ("dlib_face_recognition_resnet_model_v1.dat", "face_recognition_models/models") in pairs
    assert not any("shape_predictor" in src or "mmod" in src for src, _ in analysis["datas"])
    assert (("models", "resources/models") in pairs) == (ROOT / "resources" / "models" / "manifest.json").is_file()
    assert "torch" in analysis["excludes"]
    assert "moderngl" not in analysis["excludes"]  # the fit check renders with the engine's renderer
    assert spec_calls["COLLECT"][1]["name"] == "f2p-studio"
    assert spec_calls["EXE"][1]["exclude_binaries"]  # one folder, not one file
