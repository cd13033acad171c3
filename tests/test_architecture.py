"""The engine's architecture, proven for every module (found by pkgutil, read as source): GUI-free,
torch only in training, moderngl only in the renderer, and stages importing only earlier stages in
the one order DESIGN.md gives (the package docstring and the README state the same order)."""

import ast
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import f2p_engine

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "f2p_engine"
#: DESIGN.md's data-flow order; `ensemble` is the numpy ensemble math between models and inference.
STAGES = ("headmodel", "recipe", "render", "face", "synth", "adapt", "nets", "ensemble", "infer", "train", "evaluate",
          "cli")
#: Shared helpers every stage may use; they import no stage.
UTILITIES = ("errors", "files", "plot")
#: Modules allowed to import torch: training, and the torch model definitions of `nets`.
TRAINING = ("f2p_engine.train", "f2p_engine.nets.backbones", "f2p_engine.nets.model", "f2p_engine.nets.registry",
            "f2p_engine.nets.identity")
RENDERER = "f2p_engine.render.renderer"
GUI = ("PySide6", "PyQt5", "PyQt6", "PySide2", "shiboken6", "pyqtgraph", "superqt", "qtpy")


def _modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> source file."""
    found = {"f2p_engine": ENGINE / "__init__.py"}
    for info in pkgutil.walk_packages(f2p_engine.__path__, "f2p_engine."):
        relative = Path(*info.name.split(".")[1:])
        found[info.name] = ENGINE / relative / "__init__.py" if info.ispkg else ENGINE / relative.with_suffix(".py")
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found += [(f"{base}.{alias.name}", id(node) in top) for alias in node.names]
    return found


def _is_in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "f2p_engine" or len(parts) < 2:
        return None
    return "cli" if parts[1] == "__main__" else parts[1]


def test_every_module_is_walked_and_belongs_to_a_stage():
    assert len(MODULES) == len(list(ENGINE.rglob("*.py")))
    stray = [m for m in MODULES if m != "f2p_engine" and _stage(m) not in (*STAGES, *UTILITIES)]
    assert stray == []


def test_no_gui_anywhere_in_the_engine():
    found = [f"{m}: {name}" for m, path in MODULES.items() for name, _ in _imports(m, path)
             if name.split(".")[0] in GUI]
    assert found == []


def test_torch_only_in_training_modules():
    # Outside training, only `f2p train`'s command function (inside it, never at import) may reach torch.
    assert any(name == "torch" for name, _ in _imports("f2p_engine.nets.model", MODULES["f2p_engine.nets.model"]))
    found = []
    for module, path in MODULES.items():
        if _is_in(module, TRAINING):
            continue
        for name, top_level in _imports(module, path):
            reaches_torch = name.split(".")[0] == "torch" or _is_in(name, TRAINING)
            if reaches_torch and (top_level or module != "f2p_engine.cli.models"):
                found.append(f"{module}: {name}")
    assert found == []


def test_moderngl_only_in_the_renderer():
    found = [f"{m}: {name}" for m, path in MODULES.items() for name, _ in _imports(m, path)
             if name.split(".")[0] == "moderngl" and m != RENDERER]
    assert found == []


def test_stages_import_only_earlier_stages():
    violations = []
    for module, path in MODULES.items():
        own = _stage(module)
        for name, _ in _imports(module, path):
            other = _stage(name)
            if own is None or other is None or other == own:
                continue
            if own in UTILITIES and other not in UTILITIES:
                violations.append(f"{module}: utility imports {name}")
            elif other in STAGES and own in STAGES and STAGES.index(other) > STAGES.index(own):
                violations.append(f"{module}: imports later stage {name}")
    assert violations == []


@pytest.mark.parametrize("text", [f2p_engine.__doc__, (ROOT / "README.md").read_text()],
                         ids=["package docstring", "README"])
def test_the_order_is_written_the_same_way(text):
    # The stages in the order they are named: "headmodel -> recipe -> ... -> cli" (either arrow).
    line = next(part for part in re.split(r"\n\s*\n", text) if re.search(r"headmodel\W*(->|→)", part))
    named = [word for word in re.findall(r"[a-z]+", line) if word in STAGES]
    assert [word for i, word in enumerate(named) if word not in named[:i]] == list(STAGES)


def test_importing_the_runtime_loads_no_gui_or_torch():
    runtime = [m for m in MODULES if not _is_in(m, TRAINING) and not m.endswith("__main__")]
    code = (f"import importlib, sys\nfor m in {runtime!r}: importlib.import_module(m)\n"
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'PySide6', 'pyqtgraph', 'moderngl'})\n"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_product_never_reads_an_identity_judge():
    # FaceNet judges likeness; a product that read it would be grading its own homework. Only the
    # evaluation stage may import the judges.
    readers = []
    for path in [*ENGINE.rglob("*.py"), *(ROOT / "app").rglob("*.py")]:
        if path.is_relative_to(ENGINE / "evaluate"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) and node.module
                else [])
            if any("judges" in name or "facenet" in name for name in names):
                readers.append(f"{path.relative_to(ROOT)}: imports {names}")
    assert readers == []


def test_dlib_is_not_part_of_the_run_time():
    # The identity ResNet runs on onnxruntime (resources/face); dlib and its model package are
    # dev-only checkers (tests, scripts/build_identity_model.py), imported nowhere in the product.
    found = [f"{m}: {name}" for m, path in MODULES.items() for name, _ in _imports(m, path)
             if name.split(".")[0] in ("dlib", "face_recognition_models")]
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                found += [f"{path.relative_to(ROOT)}: {n}" for n in names
                          if n.split(".")[0] in ("dlib", "face_recognition_models")]
    assert found == []
