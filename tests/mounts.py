"""Folders that refuse writes, for tests of what commands do when the disk says no.

`read_only_folder`: chmod 555 is enough for a normal user; root ignores modes, so as root a
read-only tmpfs is mounted instead. `full_folder`: a tiny tmpfs (root only). Tests skip when the
machine allows neither.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount_tmpfs(folder: Path, options: str) -> None:
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()})")


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """`folder` (created) in which no file can be created."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    _mount_tmpfs(folder, "ro,size=64k")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@contextlib.contextmanager
def full_folder(folder: Path, kilobytes: int = 16) -> Iterator[Path]:
    """`folder` (created) on a file system of `kilobytes` that fills up after a few small files."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("a full file system needs root (tmpfs) here")
    _mount_tmpfs(folder, f"size={kilobytes}k")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def leftovers(folder: Path) -> list[str]:
    """Every file under `folder`, temporaries included, as sorted relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
