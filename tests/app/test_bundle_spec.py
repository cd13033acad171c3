"""pyinstaller.spec (the bundle itself is built and checked by scripts/build_bundle.sh, ~2 minutes)."""

from __future__ import annotations

import subprocess
import sys
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
def spec() -> dict[str, Any]:
    """The spec's global names after running it, with `calls`: the build steps' arguments."""
    calls: dict = {}
    names = {n: _Recorder(n, calls) for n in ("Analysis", "PYZ", "EXE", "COLLECT")}
    path = ROOT / "pyinstaller.spec"
    namespace = {"SPECPATH": str(ROOT), "__file__": str(path), **names}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return {**namespace, "calls": calls}


@pytest.fixture(scope="module")
def spec_calls(spec) -> dict[str, tuple[tuple[Any, ...], dict[str, Any]]]:
    return spec["calls"]


def test_spec_bundles_the_app_and_the_data_the_engine_reads(spec_calls):
    ((entry,),), analysis = spec_calls["Analysis"]
    assert Path(entry) == ROOT / "app" / "__main__.py"
    assert all(Path(src).exists() for src, _ in analysis["datas"])
    pairs = {(Path(src).name, dest) for src, dest in analysis["datas"]}
    # `files.resources_dir()` looks exactly here inside the bundle.
    assert ("head", "resources/head") in pairs
    assert ("proxies", "resources/proxies") in pairs  # hair, eyebrows and eyelashes: the 3D view needs them
    assert ("face", "resources/face") in pairs
    assert ("attributes", "resources/attributes") in pairs
    # Every resource folder the engine or the studio reads (all but the bundled sample photo) is bundled:
    # the proxies were once missed and the bundled studio stopped at start-up.
    read = {p.name for p in (ROOT / "resources").iterdir() if p.is_dir()} - {"samples"}
    assert read <= {name for name, _ in pairs}
    # dlib's identity ResNet ships as ONNX in resources/face; dlib and its model files (the 68-point
    # model's training data excludes commercial use) are not shipped in any form.
    assert not any("face_recognition_models" in src or src.endswith(".dat") for src, _ in analysis["datas"])
    assert {"dlib", "face_recognition_models"} <= set(analysis["excludes"])
    assert (("models", "resources/models") in pairs) == (ROOT / "resources" / "models" / "manifest.json").is_file()
    assert "torch" in analysis["excludes"]
    assert "moderngl" not in analysis["excludes"]  # the fit check renders with the engine's renderer
    assert spec_calls["COLLECT"][1]["name"] == "f2p-studio"
    assert spec_calls["EXE"][1]["exclude_binaries"]  # one folder, not one file


def test_spec_leaves_out_what_the_studio_never_loads(spec):
    excludes = set(spec["calls"]["Analysis"][1]["excludes"])
    assert {"torch", "onnx", "skimage", "sklearn", "matplotlib", "mediapipe", "networkx"} <= excludes
    assert {"scipy.spatial", "scipy.linalg", "scipy.optimize", "PySide6.QtNetwork", "PySide6.QtQml"} <= excludes
    # Kept: trimesh's vertex normals need scipy.sparse; the app's own Qt modules.
    assert not {"scipy", "scipy.sparse", "trimesh", "onnxruntime", "cv2", "PySide6.QtOpenGL"} & excludes
    entries = [(f"PySide6/Qt/{name}", "src", "BINARY") for name in (
        "translations/qtbase_de.qm", "plugins/platforms/libqwayland.so", "plugins/platforms/libqxcb.so",
        "plugins/xcbglintegrations/libqxcb-glx-integration.so", "lib/libQt6WaylandClient.so.6",
        "lib/libQt6Gui.so.6", "plugins/imageformats/libqjpeg.so")]
    assert [e[0].removeprefix("PySide6/Qt/") for e in spec["used"](entries)] == [
        "plugins/platforms/libqxcb.so", "plugins/xcbglintegrations/libqxcb-glx-integration.so", "lib/libQt6Gui.so.6",
        "plugins/imageformats/libqjpeg.so"]


# Runs with every excluded module absent, as in the bundle: the studio's modules import, the head's
# vertex normals still take trimesh's scipy.sparse path (its fallback is a Python loop, 50x slower),
# and the head exports to every format the studio offers.
_WITHOUT_EXCLUDES = """
import importlib.abc, importlib.machinery, logging, sys
excluded = sys.argv[1].split(",")

class Absent(importlib.abc.Loader):
    def create_module(self, spec):
        raise ModuleNotFoundError(f"No module named {spec.name!r}", name=spec.name)

    def exec_module(self, module):
        pass

class Excluded(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == e or name.startswith(e + ".") for e in excluded):
            return importlib.machinery.ModuleSpec(name, Absent())
        return None

sys.meta_path.insert(0, Excluded())
warnings = []
logging.getLogger("trimesh").addHandler(logging.Handler())
logging.getLogger("trimesh").handlers[-1].emit = warnings.append
import app.window
from f2p_engine.headmodel.export import HEAD_FORMATS
from f2p_engine.headmodel.mesh import HeadModel, default_modifiers
from f2p_engine.recipe import Recipe
from f2p_engine.render.export import export_character
vertices = HeadModel().vertices(default_modifiers())
for suffix in HEAD_FORMATS:
    export_character(vertices, Recipe(), sys.argv[2] + suffix)
assert not warnings, [w.getMessage() for w in warnings]
assert not [m for m in sys.modules if any(m == e or m.startswith(e + ".") for e in excluded)]
"""


def test_studio_imports_and_exports_without_the_excluded_modules(spec, tmp_path):
    excludes = ",".join(spec["calls"]["Analysis"][1]["excludes"])
    result = subprocess.run([sys.executable, "-c", _WITHOUT_EXCLUDES, excludes, str(tmp_path / "head")],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".glb", ".mtl", ".obj", ".ply"]
    assert all(p.stat().st_size > 100_000 for p in tmp_path.iterdir() if p.suffix != ".mtl")


def test_pythons_own_libraries_are_bundled_without_debug_information(spec, tmp_path):
    import sysconfig

    libpython = Path(sysconfig.get_config_var("LIBDIR")) / sysconfig.get_config_var("INSTSONAME")
    if not libpython.is_file():
        pytest.skip("this Python has no shared libpython")
    spec["debug_stripped"].__globals__["workpath"] = str(tmp_path)  # PyInstaller's build folder
    other = ("numpy.libs/x.so", str(libpython), "BINARY")
    (destination, source, kind), kept = spec["debug_stripped"]([(libpython.name, str(libpython), "BINARY"), other])
    assert (destination, kind) == (libpython.name, "BINARY")
    assert kept == other  # the wheels' libraries are left as they are
    assert Path(source).is_relative_to(tmp_path)
    assert Path(source).stat().st_size <= libpython.stat().st_size
    sections = subprocess.run(["readelf", "-S", "--wide", source], capture_output=True, text=True, check=True).stdout
    assert ".debug_info" not in sections
    assert ".dynsym" in sections  # what the dynamic linker needs stays
