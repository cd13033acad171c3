"""The studio's one knot stays untied: only the window (and the program that starts it) knows the
window. Controllers get the state, the editor, the settings, a messages sink and signals; none imports
`app.window` (not even for type checking) or names `StudioWindow`."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
#: The window itself, and `main`, which creates it.
KNOWS_THE_WINDOW = {"window.py", "main.py"}


def _imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module or ""}
    return found


@pytest.mark.parametrize("path", sorted(p for p in APP.glob("*.py") if p.name not in KNOWS_THE_WINDOW),
                         ids=lambda p: p.name)
def test_no_controller_or_widget_knows_the_window(path):
    imported = _imported(path)
    assert not {name for name in imported if name == "app.window" or name.startswith("app.window.")}
    names = {node.id for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Name)}
    assert "StudioWindow" not in names
    assert "StudioWindow" not in path.read_text()


def test_controllers_reach_into_no_widget_of_the_window():
    """`self.window.strip.adapter.currentText()` and the like: controllers hold no `window` at all."""
    for name in ("capture.py", "document.py"):
        tree = ast.parse((APP / name).read_text())
        attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        assert "window" not in attributes, name
