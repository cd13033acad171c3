"""The engine is GUI-free and its stages import only earlier stages (DESIGN.md data flow)."""

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "f2p_engine"
# Data-flow order. `face` precedes `synth`: synthetic samples are aligned with the photo code.
STAGES = ["errors", "files", "headmodel", "recipe", "render", "face", "synth", "adapt", "nets", "ensemble", "train",
          "infer", "evaluate", "cli"]


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "f2p_engine" else None


def test_stages_import_only_earlier_stages():
    violations = []
    for path in ENGINE.rglob("*.py"):
        relative = path.relative_to(ENGINE.parent).with_suffix("")
        own = relative.parts[1] if len(relative.parts) > 1 else None
        if own not in STAGES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                other = _stage(name)
                if other in STAGES and STAGES.index(other) > STAGES.index(own):
                    violations.append(f"{relative}: imports {name}")
    assert violations == []


def test_engine_import_loads_no_gui_or_torch():
    code = ("import sys, f2p_engine, f2p_engine.headmodel.mesh, f2p_engine.recipe, f2p_engine.cli; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'torch')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_product_never_reads_an_identity_judge():
    # FaceNet judges likeness; a product that read it would be grading its own homework. Only the
    # evaluation stage may import the judges.
    readers = []
    for path in [*ENGINE.rglob("*.py"), *(ENGINE.parent / "app").rglob("*.py")]:
        if path.is_relative_to(ENGINE / "evaluate"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) and node.module
                else [])
            if any("judges" in name or "facenet" in name for name in names):
                readers.append(f"{path.relative_to(ENGINE.parent)}: imports {names}")
    assert readers == []
