"""Where shipped resources and f2p's cache live; atomic, reproducible file writing; file hashes (every stage's)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import stat
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from f2p_engine.errors import InputError

#: The repo's `resources/` (resolved once: a model lookup per photo asks for it, and resolving costs syscalls).
_REPO_RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def resources_dir() -> Path:
    """The `resources/` folder: F2P_RESOURCES if set, the PyInstaller bundle, else the repo's."""
    env = os.environ.get("F2P_RESOURCES")
    if env:
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return _REPO_RESOURCES


#: The largest input file read whole (a photo, a report, a config): a larger one is refused before
#: any byte is read (a 1.5 GB file named .png once took 1.7 GB of memory to be found unreadable).
MAX_INPUT_BYTES = 256 * 2**20

_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def resolved(path: str | os.PathLike[str]) -> Path:
    """`Path(path).resolve()`, with InputError naming `path` for a symbolic link loop (not RuntimeError)."""
    try:
        return Path(path).resolve()
    except RuntimeError:  # Python 3.11 raises it for a loop
        raise InputError(f"{os.fspath(path)}: symbolic link loop") from None


def input_problem(path: str | os.PathLike[str]) -> str | None:
    """Why `path` cannot be read as an input file, or None for a regular file (or a link to one):
    a symbolic link loop, a dangling link, a missing file, a folder, a FIFO, a device, a socket."""
    try:
        status = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if os.path.islink(path):
            return f"dangling symbolic link (to {os.readlink(path)}, which does not exist)"
        return "no such file" if exc.errno == errno.ENOENT else f"cannot read ({exc.strerror})"
    if stat.S_ISREG(status.st_mode):
        return None
    return f"is {_KINDS.get(stat.S_IFMT(status.st_mode), 'not a regular file')}, not a file"


def check_input_file(path: str | os.PathLike[str], max_bytes: int = MAX_INPUT_BYTES) -> int:
    """The size of input file `path`; InputError naming it when `input_problem` finds one or it is
    larger than `max_bytes` (checked before anything is read)."""
    problem = input_problem(path)
    if problem is not None:
        raise InputError(f"{os.fspath(path)}: {problem}")
    size = os.stat(path).st_size
    if size > max_bytes:
        raise InputError(f"{os.fspath(path)}: {size / 2**20:.0f} MB, larger than the {max_bytes >> 20} MB "
                         "an input file may be")
    return size


def output_problem(path: str | os.PathLike[str]) -> str | None:
    """Why `path` cannot be written as an output file, or None: a symbolic link loop, or an existing
    FIFO, device or socket (a folder is the callers' to judge: some outputs are folders)."""
    try:
        status = os.stat(path)
    except OSError as exc:
        return "symbolic link loop" if exc.errno == errno.ELOOP else None
    kind = stat.S_IFMT(status.st_mode)
    return None if kind in (stat.S_IFREG, stat.S_IFDIR) else f"is {_KINDS.get(kind, 'not a regular file')}, not a file"


def text_of(name: str) -> str:
    """A file name as text that can be written as UTF-8: bytes of a name that are not UTF-8 (which
    Python keeps as lone surrogates) become U+FFFD. For names inside files; paths stay as they are."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def same_path(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """True if both name the same file: the same inode (links included) or, if missing, the same path."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # one does not exist yet: compare where they would be
        return resolved(first) == resolved(second)


def check_outputs(outputs: Sequence[str | os.PathLike[str]], inputs: Sequence[str | os.PathLike[str]] = ()) -> None:
    """Refuse (InputError naming it) an output file that is also an input, repeats another output or
    is an existing folder.

    Commands call this before their work, so a typo such as `-o PHOTO.png` never costs the photo.
    One key per path (as `same_path` compares them), so a folder of thousands of files is checked in
    linear time.
    """
    sources = {_file_key(source): source for source in inputs}
    seen: set[object] = set()
    for output in outputs:
        problem = output_problem(output)
        if problem is not None:
            raise InputError(f"{output}: {problem}")
        if os.path.isdir(output):
            raise InputError(f"{output}: is a folder; give a file name")
        key = _file_key(output)
        if key in sources:
            raise InputError(f"{output}: is also the input {sources[key]}; choose another output name")
        if key in seen:
            raise InputError(f"{output}: given for two outputs of this command; choose different names")
        seen.add(key)


def _file_key(path: str | os.PathLike[str]) -> object:
    """What `same_path` compares: the inode of an existing file, else where the path resolves to."""
    try:
        status = os.stat(path)
    except OSError:
        return resolved(path)
    return (status.st_dev, status.st_ino)


#: Temporary file -> the user's output it stands for, while an `atomic_outputs` block runs. Writers
#: that are handed one of these (write_mhm, write_png, ...) write it in place instead of staging again.
_STAGED: dict[Path, Path] = {}


def _naming(exc: OSError, outputs: Sequence[Path], temporaries: Sequence[Path]) -> OSError:
    """The same OSError naming the user's output instead of its temporary (or instead of nothing)."""
    named = Path(exc.filename) if exc.filename else None
    if named in temporaries:
        where = str(outputs[temporaries.index(named)])
    elif named is None:  # e.g. a full disk while writing: the outputs being written
        where = ", ".join(map(str, outputs))
    else:
        return exc  # an output or another file (an input, say): already named as the user knows it
    return OSError(exc.errno, exc.strerror, where)


@contextlib.contextmanager
def atomic_outputs(*paths: str | os.PathLike[str],
                   inputs: Sequence[str | os.PathLike[str]] = ()) -> Iterator[tuple[Path, ...]]:
    """Yield one temporary path beside each output; move them all into place only if the block succeeds.

    Refuses outputs that are inputs, repeat each other or are folders, before anything is written.
    A failed block (an exception, Ctrl-C, a full disk) removes every temporary and leaves the outputs
    as they were; OSErrors name the user's output, never the temporary.
    """
    outputs = [Path(p) for p in paths]
    check_outputs(outputs, inputs)
    if len(outputs) == 1 and outputs[0] in _STAGED:  # already a temporary of an enclosing block
        try:
            yield (outputs[0],)
        except OSError as exc:
            raise _naming(exc, [_STAGED[outputs[0]]], outputs) from None
        return
    temporaries: list[Path] = []
    try:
        for output in outputs:
            output.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd, name = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=output.suffix + ".part",
                                            dir=output.parent)
            except OSError as exc:  # e.g. a read-only folder: name the user's file, not the temporary
                raise OSError(exc.errno, exc.strerror, str(output)) from None
            os.close(fd)
            temporaries.append(Path(name))
            _STAGED[temporaries[-1]] = output
        yield tuple(temporaries)
        for temporary in temporaries:
            os.chmod(temporary, 0o644)
        for temporary, output in zip(temporaries, outputs, strict=True):
            os.replace(temporary, output)
    except OSError as exc:
        raise _naming(exc, outputs, temporaries) from None
    finally:
        for temporary in temporaries:
            _STAGED.pop(temporary, None)
            temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    A failed write never leaves a partial file behind under the final name, and its OSError names
    `path`, not the temporary. Inside `atomic_outputs`, a temporary it handed out is written in place.
    """
    with atomic_outputs(path) as (temporary,):
        yield temporary


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str], inputs: Sequence[str | os.PathLike[str]] = ()) -> Iterator[Path]:
    """Yield a fresh folder beside `path` (`.<name>.*.part`); move its files to `path` only if the
    block succeeds: a rename if `path` does not exist, else file by file (other files of `path` stay).

    A failed block leaves `path` as it was and removes the staged folder; OSErrors name the file
    under `path` (or `path`), never the staged one. A staged file that would replace one of
    `inputs` is refused (InputError) before anything moves.
    """
    final = Path(path)
    problem = output_problem(final)
    if problem is not None:
        raise InputError(f"{final}: {problem}")
    if final.exists() and not final.is_dir():
        raise InputError(f"{final}: exists and is not a folder")
    staging: Path | None = None
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
        os.chmod(staging, 0o755)  # mkdtemp makes it private; it may become `path` itself
        yield staging
        _merge_into(staging, final, inputs)
    except OSError as exc:
        raise _naming_in_folder(exc, staging, final) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _naming_in_folder(exc: OSError, staging: Path | None, final: Path) -> OSError:
    """The same OSError naming the file under `final` that a staged file stands for."""
    named = Path(exc.filename) if exc.filename else None
    if staging is None or named is None:  # the staged folder could not be made, or a full disk
        where = final
    elif named.is_relative_to(staging):
        where = final / named.relative_to(staging)
    else:
        return exc
    return OSError(exc.errno, exc.strerror, str(where))


def _merge_into(staging: Path, output: Path, inputs: Sequence[str | os.PathLike[str]]) -> None:
    """Move the staged files to `output`: a rename if it does not exist, else file by file."""
    staged = sorted(p for p in staging.rglob("*") if p.is_file())
    check_outputs([output / p.relative_to(staging) for p in staged], inputs)
    if not output.exists():
        os.replace(staging, output)
        return
    for file in staged:
        target = output / file.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, target)


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


#: Environment variable naming f2p's cache folder (optimised ONNX graphs, `checked_sha256`'s records); set
#: but empty: no cache.
CACHE_VARIABLE = "F2P_CACHE"
#: A file changed this recently (ns) is hashed but not recorded: its time stamps may be coarser than the change.
SETTLE_NS = 3 * 10**9
#: Records kept at most (the shipped files are 20): the oldest go first.
MAX_RECORDS = 256
_RECORDS = "sha256.json"
_records_lock = threading.Lock()
_records: dict[str, list[object]] | None = None


def cache_dir() -> Path | None:
    """f2p's cache folder: `F2P_CACHE` (None when set empty), else <cache>/f2p (<cache>: $XDG_CACHE_HOME,
    else ~/.cache); None without a home folder."""
    folder = os.environ.get(CACHE_VARIABLE)
    if folder is not None:
        return Path(folder) if folder else None
    try:
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "f2p"
    except (RuntimeError, KeyError):  # no home folder to be found
        return None


def checked_sha256(path: str | os.PathLike[str]) -> str:
    """`sha256_file(path)`, read and hashed again only when the file may have changed since f2p last
    hashed it: a record per file in the cache folder keeps its sha256 with its device, inode, size and
    modification and status-change times (ns). Writing a file changes the status-change time, which no
    program can set back, so a file whose status is unchanged still holds the bytes that were hashed (as
    git's index trusts unchanged status data). Files changed in the last `SETTLE_NS` are not recorded.
    OSError when the file cannot be read."""
    status = os.stat(path)
    key = os.path.abspath(path)
    identity = [status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns]
    records = _read_records()
    record = records.get(key)
    if record is not None and record[:-1] == identity:
        return str(record[-1])
    digest = sha256_file(path)
    if time.time_ns() - max(status.st_mtime_ns, status.st_ctime_ns) > SETTLE_NS:
        _write_record(key, [*identity, digest])
    return digest


def _read_records() -> dict[str, list[object]]:
    """This process's copy of the records (read once)."""
    global _records
    with _records_lock:
        if _records is None:
            folder = cache_dir()
            try:
                loaded = json.loads((folder / _RECORDS).read_text()) if folder is not None else {}
            except (OSError, ValueError):
                loaded = {}
            _records = loaded if isinstance(loaded, dict) else {}
        return _records


def _write_record(key: str, record: list[object]) -> None:
    """Add one record and write the records back (atomically; a cache that cannot be written is no error)."""
    records, folder = _read_records(), cache_dir()
    with _records_lock:
        records.pop(key, None)
        records[key] = record  # newest last
        for stale in list(records)[:max(0, len(records) - MAX_RECORDS)]:
            del records[stale]
        if folder is None:
            return
        staged = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, staged = tempfile.mkstemp(dir=folder, prefix=f".{_RECORDS}.", suffix=".part")
            with os.fdopen(handle, "w") as out:
                json.dump(records, out)
            os.replace(staged, folder / _RECORDS)
        except OSError:
            if staged is not None:
                Path(staged).unlink(missing_ok=True)
