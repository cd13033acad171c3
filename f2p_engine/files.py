"""Where shipped resources live; atomic, reproducible file writing shared by every stage."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np


def resources_dir() -> Path:
    """The `resources/` folder: F2P_RESOURCES if set, the PyInstaller bundle, else the repo's."""
    env = os.environ.get("F2P_RESOURCES")
    if env:
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    A failed write never leaves a partial file behind under the final name. If the temporary file
    cannot be created (folder not writable), the OSError names `path`, not the temporary name.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=final.suffix + ".part", dir=final.parent)
    except OSError as exc:  # name the file the caller asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(final)) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh folder beside `path` (`.<name>.*.part`); move its files to `path` only if the
    block succeeds: a rename if `path` does not exist, else file by file (other files of `path` stay).

    A failed block leaves `path` as it was and removes the staged folder.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
    except OSError as exc:  # name the folder the caller asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(final)) from None
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; it may become `path` itself
        yield staging
        _merge_into(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _merge_into(staging: Path, output: Path) -> None:
    """Move the staged files to `output`: a rename if it does not exist, else file by file."""
    if not output.exists():
        os.replace(staging, output)
        return
    for path in sorted(staging.rglob("*")):
        if path.is_file():
            target = output / path.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)


def write_npz(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> None:
    """Write a compressed .npz whose bytes depend only on `arrays` (fixed zip timestamps), atomically."""
    with atomic_output(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks (shipped assets are checked with it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
