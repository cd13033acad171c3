"""Small real image files in every format the loader meets, and hostile variants of them.

Shared by the image tests and `scripts/fuzz_inputs.py`: seeds are encoded by OpenCV or Pillow, the
Radiance header and the flat PNG are written here byte by byte (their layout is the point).
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

#: Formats OpenCV encodes; Pillow adds GIF. Radiance .hdr is the one Pillow cannot size.
_CV2_FORMATS = (".png", ".jpg", ".bmp", ".tiff", ".webp", ".ppm", ".pgm", ".hdr", ".pfm", ".ras", ".jp2")


def seed_images(width: int = 32, height: int = 24) -> dict[str, bytes]:
    """A small gradient encoded in each format: extension -> file bytes."""
    import cv2  # here, so an importer can load f2p_engine (which sets OpenCV's limits) first
    from PIL import Image

    ramp = np.linspace(0, 255, width * height * 3).reshape(height, width, 3).astype(np.uint8)
    seeds = {}
    for extension in _CV2_FORMATS:
        pixels = ramp.astype(np.float32) / 255 if extension in (".hdr", ".pfm") else ramp
        pixels = pixels[:, :, 0] if extension == ".pgm" else pixels
        ok, encoded = cv2.imencode(extension, pixels)
        if ok:
            seeds[extension] = encoded.tobytes()
    buffer = io.BytesIO()
    Image.fromarray(ramp).save(buffer, format="GIF")
    seeds[".gif"] = buffer.getvalue()
    return seeds


def radiance_header(width: int, height: int) -> bytes:
    """A Radiance RGBE file announcing width x height with one run-length scanline start (tiny)."""
    return (b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n" + f"-Y {height} +X {width}\n".encode()
            + bytes([2, 2, (width >> 8) & 0xFF, width & 0xFF]) + b"\x80\x00" * 8)


def flat_png(width: int, height: int) -> bytes:
    """A valid 8-bit grey PNG of width x height, all black: a few KB on disk however large it decodes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)  # filter byte + pixels
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def mutate(data: bytes, positions: list[int], values: list[int], cut: int | None) -> bytes:
    """`data` with bytes at `positions` (taken modulo the header's 64 bytes) set to `values`,
    then cut to `cut` bytes (None: whole)."""
    mutable = bytearray(data)
    for position, value in zip(positions, values, strict=False):
        mutable[position % min(64, len(mutable))] = value
    return bytes(mutable[:cut] if cut is not None else mutable)
