"""Image files and arrays -> `RGBImage` (H x W x 3 uint8 RGB); RGB arrays -> PNG files.

Whatever an artist drops in is normalised here once: EXIF orientation applied, grey and 16-bit
scaled to 8-bit RGB, alpha composited over white (what image viewers usually show). Decoding is
OpenCV's (it keeps 16-bit depth and alpha); Pillow reads only the header (size, EXIF orientation)
and decodes the formats OpenCV lacks (GIF, ...).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from f2p_engine import MAX_IMAGE_PIXELS
from f2p_engine.errors import F2PError, InputError
from f2p_engine.files import atomic_output, check_input_file

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

#: Refuse images above this many pixels (a 12000 x 8000 photo is 96 Mpx, 288 MB decoded).
MAX_PIXELS = MAX_IMAGE_PIXELS
#: ... and images whose decoded pixels would take more than this: an 8-bit RGB photo at the pixel
#: limit; fewer pixels with alpha, 16 bits or floats (a Radiance .hdr takes 12 bytes a pixel).
MAX_DECODED_BYTES = 3 * MAX_PIXELS
#: EXIF tag 0x0112.
_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True, slots=True, kw_only=True)
class RGBImage:
    """A picture ready for the face stage.

    `pixels`: (H, W, 3) uint8, RGB, C-contiguous, rows top to bottom as displayed.
    `source`: where it came from, for messages (a file path, "camera 0", "frame 17 of clip.avi").
    """

    pixels: np.ndarray = field(repr=False)
    source: str

    def __post_init__(self) -> None:
        pixels = self.pixels
        if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
            raise ValueError(f"RGBImage needs (H, W, 3) uint8 pixels, got {pixels.shape} {pixels.dtype}")
        if not pixels.flags.c_contiguous:
            object.__setattr__(self, "pixels", np.ascontiguousarray(pixels))

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def to_rgb8(array: np.ndarray) -> np.ndarray:
    """Any grey / RGB / RGBA array -> (H, W, 3) uint8 RGB.

    Accepts (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA with dtype uint8, uint16 (scaled by
    1/257), or float (0..1, clipped). Alpha is composited over white.
    """
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or 0 in array.shape:
        raise ValueError(f"not an image array: shape {array.shape}")
    if array.dtype == np.uint8 and array.shape[2] != 4:  # the common case needs no arithmetic
        return np.ascontiguousarray(np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array)
    if array.dtype != np.uint16 and array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"unsupported pixel type {array.dtype}")
    # Block by block: float32 copies of a whole large photo would cost 16 bytes a pixel.
    out = np.empty((*array.shape[:2], 3), np.uint8)
    rows = max(1, (1 << 22) // (array.shape[1] * array.shape[2]))
    for start in range(0, array.shape[0], rows):
        out[start:start + rows] = _block_to_rgb8(array[start:start + rows])
    return out


def _block_to_rgb8(array: np.ndarray) -> np.ndarray:
    """`to_rgb8` of rows of a uint8 RGBA, uint16 or float (H, W, C) array."""
    if array.dtype == np.uint8:
        values = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        values = array.astype(np.float32) / 65535.0
    else:
        values = np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0)
    if values.shape[2] == 4:
        alpha = values[:, :, 3:]
        values = values[:, :, :3] * alpha + (1.0 - alpha)
    elif values.shape[2] == 1:
        values = np.repeat(values, 3, axis=2)
    return np.rint(values * 255.0).astype(np.uint8)


def _apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip decoded pixels so they display upright (EXIF orientation 1-8)."""
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, k=1),
    }
    transform = transforms.get(orientation)
    return array if transform is None else transform(array)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageHeader:
    """What an image file announces before any pixel is decoded: its size and EXIF orientation (1-8)."""

    width: int
    height: int
    orientation: int = 1
    #: What a decoder may need per pixel (channels x bytes per channel), an upper estimate.
    bytes_per_pixel: int = 3
    #: True if Pillow can decode it (the fallback for formats OpenCV lacks).
    pillow: bool = True


#: Radiance RGBE (.hdr, .pic): OpenCV decodes it, Pillow cannot even read its header.
_RADIANCE_MAGIC = (b"#?RADIANCE", b"#?RGBE")
#: OpenCV reads the size with sscanf("-Y %d +X %d") after the header lines; this matches every such line.
_RADIANCE_SIZE = re.compile(rb"-Y\s*([+-]?\d+)\s*\+X\s*([+-]?\d+)")
#: Bytes searched for the Radiance size line (its header is a few short text lines).
_RADIANCE_HEADER_BYTES = 1 << 16


def read_image_header(data: bytes, source: str) -> ImageHeader:
    """Size and orientation from the header of an encoded image, checked against MAX_PIXELS.

    Every format a decoder here may accept is sized first: Pillow reads the headers it knows,
    Radiance .hdr is read here; any other format is refused as unreadable, never decoded unchecked.
    Raises InputError naming `source`.
    """
    header = _pillow_header(data, source) or _radiance_header(data, source)
    if header is None or (data.startswith(_PNG_MAGIC) and not _png_chunks_fit(data)):
        raise InputError(f"{source}: not a readable image (unknown format or corrupt file)")
    if header.width < 1 or header.height < 1:
        raise InputError(f"{source}: not a readable image (its header gives a size of {header.width}x{header.height})")
    if header.width * header.height > MAX_PIXELS:
        raise InputError(f"{source}: image too large ({header.width}x{header.height}; "
                         f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels)")
    if header.width * header.height * header.bytes_per_pixel > MAX_DECODED_BYTES:
        raise InputError(f"{source}: image too large to decode ({header.width}x{header.height} at "
                         f"{header.bytes_per_pixel} bytes a pixel; the limit is {MAX_DECODED_BYTES >> 20} MB)")
    return header


def _pillow_header(data: bytes, source: str) -> ImageHeader | None:
    """The header as Pillow reads it, or None if Pillow does not know the format."""
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's chatter (corrupt EXIF, ...): the loader reports problems
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                try:
                    orientation = int(image.getexif().get(_ORIENTATION_TAG, 1))
                except Exception:  # a broken EXIF block must not make a good photo unreadable
                    orientation = 1
                return ImageHeader(width=width, height=height, orientation=orientation,
                                   bytes_per_pixel=_bytes_per_pixel(image, data))
        except Image.DecompressionBombError:
            raise InputError(f"{source}: image too large (more than {MAX_PIXELS / 1e6:.0f} megapixels)") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error, EOFError):
            return None


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: More chunks than this is no photo (a 100 MB PNG has a few thousand).
_MAX_PNG_CHUNKS = 1 << 20


def _png_chunks_fit(data: bytes) -> bool:
    """True if every PNG chunk ends inside the file. OpenCV allocates a chunk's declared length before
    reading it: one byte changed in a 542-byte file cost 3.7 GB and 17 s. A PNG cut short is refused
    here too, as both decoders would refuse it."""
    offset = len(_PNG_MAGIC)
    for _ in range(_MAX_PNG_CHUNKS):
        if offset + 8 > len(data):
            return False
        length, kind = struct.unpack_from(">I4s", data, offset)
        offset += 12 + length  # length, type, data, CRC
        if offset > len(data):
            return False
        if kind == b"IEND":
            return True
    return False


def _bytes_per_pixel(image: PILImage, data: bytes) -> int:
    """Upper estimate of decoded bytes per pixel from a Pillow header: 3 or 4 channels (palettes decode
    to colour, alpha adds one) times the sample size (PNG's and TIFF's own bit depth: Pillow reports
    16-bit colour as 8-bit modes, OpenCV keeps 16 bits)."""
    channels = 4 if "A" in image.getbands() or image.mode in ("P", "PA") else 3
    bits = 8
    if data.startswith(b"\x89PNG") and len(data) > 24:
        bits = data[24]  # IHDR bit depth
    elif image.format == "TIFF":
        try:
            samples = image.tag_v2.get(258, (8,))  # BitsPerSample
            bits = max(samples) if isinstance(samples, tuple) else int(samples)
        except Exception:  # a mangled tag: assume the widest samples OpenCV decodes
            bits = 64
    elif image.mode in ("I", "F", "I;16", "I;16B", "I;16L"):
        bits = 32
    return channels * max(1, -(-int(bits) // 8))


def _radiance_header(data: bytes, source: str) -> ImageHeader | None:
    """A Radiance RGBE header's size (the largest any size line of the header gives), or None."""
    if not data.startswith(_RADIANCE_MAGIC):
        return None
    sizes = [(int(w), int(h)) for h, w in _RADIANCE_SIZE.findall(data[:_RADIANCE_HEADER_BYTES])]
    if not sizes:
        return None
    width, height = max(sizes, key=lambda size: abs(size[0] * size[1]))
    return ImageHeader(width=width, height=height, bytes_per_pixel=12, pillow=False)  # 3 float32s


def _decode_with_pillow(data: bytes) -> np.ndarray | None:
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's chatter (corrupt EXIF, ...): the loader reports problems
        try:
            with Image.open(io.BytesIO(data)) as image:
                image = ImageOps.exif_transpose(image)
                return np.asarray(image.convert("RGBA"))
        except MemoryError:
            raise
        except Exception:  # any other decoder failure means "not readable"; the caller says so
            return None


def _decode(data: bytes, header: ImageHeader) -> np.ndarray | None:
    """Decoded pixels (upright), or None if no decoder could read them. MemoryError propagates."""
    try:
        with _native_stderr_silenced():
            decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        if exc.code == cv2.Error.StsNoMem:
            raise MemoryError from None
        decoded = None  # e.g. OpenCV's own pixel limit (set from MAX_PIXELS in f2p_engine/__init__)
    if decoded is not None:
        if decoded.ndim == 3 and decoded.shape[2] in (3, 4):  # in place: no second copy of a large photo
            code = cv2.COLOR_BGRA2RGBA if decoded.shape[2] == 4 else cv2.COLOR_BGR2RGB
            decoded = cv2.cvtColor(decoded, code, dst=decoded)
        return _apply_orientation(decoded, header.orientation)
    if header.pillow:
        with _native_stderr_silenced():
            return _decode_with_pillow(data)  # formats OpenCV does not read; Pillow applies EXIF itself
    return None


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null meanwhile: libpng and libjpeg print their complaints
    there themselves, and a corrupt photo must end in the loader's one line, not in theirs."""
    with _STDERR_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no stderr to protect
            yield
            return
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def load_image(path: str | os.PathLike[str]) -> RGBImage:
    """Read an image file as upright 8-bit RGB. Raises InputError naming the file and the problem.

    The header is read and its size checked against MAX_PIXELS before anything is decoded; running
    out of memory while decoding is reported as such, not as an unreadable file.
    """
    path = Path(path)
    check_input_file(path)  # a FIFO, a device, a link loop or a huge file: refused before reading
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    return decode_image(data, str(path))


def decode_image(data: bytes, source: str) -> RGBImage:
    """Encoded image bytes (e.g. a photo embedded in a studio session) as upright 8-bit RGB, with the
    same checks as `load_image`; InputError names `source`."""
    if not data:
        raise InputError(f"{source}: empty file")
    header = read_image_header(data, source)
    try:
        decoded = _decode(data, header)
        if decoded is None:
            raise InputError(f"{source}: not a readable image (unknown format or corrupt file)")
        return RGBImage(pixels=to_rgb8(decoded), source=source)
    except MemoryError:
        raise InputError(f"{source}: not enough memory to decode this {header.width}x{header.height} image") from None
    except ValueError as exc:
        raise InputError(f"{source}: {exc}") from exc


def write_png(path: str | os.PathLike[str], pixels: np.ndarray) -> None:
    """Write (H, W, 3) uint8 RGB pixels as a PNG, atomically."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    if not ok:
        raise F2PError(f"{path}: could not encode PNG")
    with atomic_output(path) as tmp:
        tmp.write_bytes(encoded.tobytes())
