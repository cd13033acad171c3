"""What the studio keeps between runs (QSettings), behind typed accessors."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 8


class StudioSettings:
    """Typed view of a QSettings store (the user's by default; tests pass an .ini file)."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or QSettings("f2p", "f2p-studio")

    def flag(self, key: str, default: bool) -> bool:
        value = self.store.value(key, default)
        return value if isinstance(value, bool) else str(value).lower() == "true"

    def set_flag(self, key: str, value: bool) -> None:
        self.store.setValue(key, bool(value))

    def text(self, key: str, default: str = "") -> str:
        return str(self.store.value(key, default))

    def set_text(self, key: str, value: str) -> None:
        self.store.setValue(key, value)

    def blob(self, key: str) -> QByteArray | None:
        value = self.store.value(key)
        return value if isinstance(value, QByteArray) else None

    def set_blob(self, key: str, value: QByteArray) -> None:
        self.store.setValue(key, value)

    def recent_files(self) -> list[Path]:
        """Most recent first; files that no longer exist are left out."""
        return [path for path in map(Path, self.text("files/recent").splitlines()) if _exists(path)]

    def add_recent(self, path: Path) -> None:
        path = path.resolve()
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.set_text("files/recent", "\n".join(str(p) for p in recent[:MAX_RECENT]))

    def remember(self, path: Path) -> None:
        """A file the artist opened or saved: first in the recent files, its folder the next dialog's."""
        self.add_recent(path)
        self.set_text("files/last_dir", str(path.resolve().parent))

    def last_dir(self) -> str:
        """The folder file dialogs start in."""
        return self.text("files/last_dir", str(Path.home()))

    def sync(self) -> None:
        self.store.sync()


def _exists(path: Path) -> bool:
    """False for what a damaged settings file may hold instead of a path (a NUL byte, an unreadable folder)."""
    try:
        return str(path) not in ("", ".") and path.exists()
    except (OSError, ValueError):
        return False
