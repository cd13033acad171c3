"""Issue 12, images: every decoder path is sized before decoding; memory errors are named as such.

Reproducers (a 15000x15000 Radiance .hdr Pillow cannot size, a decode that runs out of memory)
through the real loader, and hypothesis properties of the header checks on mutated real files.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hostile_images import flat_png, mutate, radiance_header, seed_images
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from f2p_engine.errors import InputError
from f2p_engine.face.image import MAX_PIXELS, load_image, read_image_header

SEEDS = seed_images()
ROOT = Path(__file__).resolve().parent.parent


def test_a_huge_radiance_image_is_refused_before_decoding(tmp_path):
    path = tmp_path / "big.hdr"
    path.write_bytes(radiance_header(15000, 15000))
    began = time.perf_counter()
    with pytest.raises(InputError, match=r"image too large \(15000x15000") as caught:
        load_image(path)
    assert time.perf_counter() - began < 2.0  # OpenCV alone would take 37 s and 11 GB
    assert str(caught.value).startswith(f"{path}: ")


def test_pixels_under_the_limit_that_would_decode_too_large_are_refused(tmp_path):
    path = tmp_path / "wide.hdr"
    path.write_bytes(radiance_header(10000, 5000))  # 50 Mpx, under the pixel limit, but 12 bytes each
    with pytest.raises(InputError, match=r"too large to decode \(10000x5000 at 12 bytes a pixel"):
        load_image(path)


def test_a_png_chunk_longer_than_its_file_is_refused_unread(tmp_path):
    """Found by scripts/fuzz_inputs.py: OpenCV allocated the 3.7 GB an IDAT length claimed, for 17 s."""
    path = tmp_path / "claims.png"
    path.write_bytes(mutate(SEEDS[".png"], [33], [0xE1], None))  # the high byte of IDAT's length
    began = time.perf_counter()
    with pytest.raises(InputError, match="not a readable image"):
        load_image(path)
    assert time.perf_counter() - began < 2.0


def test_a_small_radiance_image_still_loads(tmp_path):
    path = tmp_path / "small.hdr"
    path.write_bytes(SEEDS[".hdr"])
    assert load_image(path).pixels.shape == (24, 32, 3)


@pytest.mark.parametrize("extension", [".pfm"])
def test_formats_that_cannot_be_sized_are_refused_unread(extension, tmp_path):
    path = tmp_path / f"x{extension}"
    path.write_bytes(SEEDS[extension])
    with pytest.raises(InputError, match="not a readable image"):
        load_image(path)


def test_running_out_of_memory_is_reported_as_such(tmp_path):
    """A real process with its address space capped just above what it uses before decoding."""
    path = tmp_path / "flat.png"
    path.write_bytes(flat_png(8000, 8000))  # 64 Mpx: 192 MB as RGB, 60 KB on disk
    script = textwrap.dedent(f"""
        import re, resource, sys
        import cv2
        cv2.setNumThreads(0)
        from f2p_engine.cli import main
        used = int(re.search(r"VmSize:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (used + 100 * 2**20, resource.RLIM_INFINITY))
        sys.exit(main(["align", {str(path)!r}, "-o", {str(tmp_path / "out")!r}]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"f2p align: error: {path}: not enough memory to decode this 8000x8000 image"]
    assert not (tmp_path / "out").exists()


# -- property-based: mutated headers of real files ----------------------------------------------
@seed(12)
@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(extension=st.sampled_from(sorted(SEEDS)), positions=st.lists(st.integers(0, 63), max_size=4),
       values=st.lists(st.integers(0, 255), min_size=4, max_size=4), cut=st.none() | st.integers(0, 200))
def test_mutated_headers_are_sized_or_refused(extension, positions, values, cut, tmp_path):
    data = mutate(SEEDS[extension], positions, values, cut)
    try:
        header = read_image_header(data, "fuzz")
    except InputError as exc:
        problem = str(exc)
    else:
        problem = None
    if problem is not None:
        assert problem.startswith("fuzz: ")
        return
    assert 1 <= header.width * header.height <= MAX_PIXELS
    if header.width * header.height <= 1 << 20:  # decode the small ones too: InputError or an image
        path = tmp_path / f"fuzz{extension}"
        path.write_bytes(data)
        try:
            image = load_image(path)
        except InputError:
            return
        assert image.pixels.ndim == 3


@pytest.mark.parametrize("extension", [".png", ".hdr", ".tiff"])
def test_a_corrupt_image_is_one_line_without_decoder_chatter(extension, tmp_path):
    path = tmp_path / f"cut{extension}"
    path.write_bytes(SEEDS[extension][: len(SEEDS[extension]) // 2])
    result = subprocess.run([sys.executable, "-m", "f2p_engine", "align", str(path), "-o", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"f2p align: error: {path}: not a readable image (unknown format or "
                                          "corrupt file)"]
