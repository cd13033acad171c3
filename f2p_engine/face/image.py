"""Image files and arrays -> `RGBImage` (H x W x 3 uint8 RGB); RGB arrays -> PNG files.

Whatever an artist drops in is normalised here once: EXIF orientation applied, grey and 16-bit
scaled to 8-bit RGB, alpha composited over white (what image viewers usually show). Decoding is
OpenCV's (it keeps 16-bit depth and alpha); Pillow reads only the header (size, EXIF orientation)
and decodes the formats OpenCV lacks (GIF, ...).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from f2p_engine.errors import F2PError, InputError
from f2p_engine.files import atomic_output

#: Refuse images above this many pixels: Pillow's own decompression-bomb limit (a 12000 x 8000
#: photo is 96 Mpx, 288 MB decoded).
MAX_PIXELS = 178_956_970
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
    if array.dtype == np.uint8:
        values = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        values = array.astype(np.float32) / 65535.0
    elif np.issubdtype(array.dtype, np.floating):
        values = np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0)
    else:
        raise ValueError(f"unsupported pixel type {array.dtype}")
    if values.shape[2] == 4:
        alpha = values[:, :, 3:]
        values = values[:, :, :3] * alpha + (1.0 - alpha)
    elif values.shape[2] == 1:
        values = np.repeat(values, 3, axis=2)
    return np.ascontiguousarray(np.rint(values * 255.0).astype(np.uint8))


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


def _read_header(path: Path) -> int | None:
    """EXIF orientation (1 if none) from the file header, None if Pillow cannot identify the file.

    Raises InputError if the header announces more than MAX_PIXELS, before anything is decoded.
    """
    from PIL import Image, UnidentifiedImageError

    too_large = InputError(f"{path}: image too large (more than {MAX_PIXELS / 1e6:.0f} megapixels)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise too_large
                try:
                    return int(image.getexif().get(_ORIENTATION_TAG, 1))
                except Exception:  # a broken EXIF block must not make a good photo unreadable
                    return 1
        except Image.DecompressionBombError as exc:
            raise too_large from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return None


def _decode_with_pillow(path: Path) -> np.ndarray | None:
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                image = ImageOps.exif_transpose(image)
                return np.asarray(image.convert("RGBA"))
        except Exception:  # any decoder failure means "not readable"; the caller says so
            return None


def load_image(path: str | os.PathLike[str]) -> RGBImage:
    """Read an image file as upright 8-bit RGB. Raises InputError naming the file and the problem."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if not data:
        raise InputError(f"{path}: empty file")
    orientation = _read_header(path)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is not None:
        if decoded.ndim == 3:
            decoded = cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA if decoded.shape[2] == 4 else cv2.COLOR_BGR2RGB)
        decoded = _apply_orientation(decoded, orientation or 1)
    elif orientation is not None:
        decoded = _decode_with_pillow(path)  # formats OpenCV does not read; Pillow applies EXIF itself
    if decoded is None:
        raise InputError(f"{path}: not a readable image (unknown format or corrupt file)")
    try:
        return RGBImage(pixels=to_rgb8(decoded), source=str(path))
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from exc


def write_png(path: str | os.PathLike[str], pixels: np.ndarray) -> None:
    """Write (H, W, 3) uint8 RGB pixels as a PNG, atomically."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    if not ok:
        raise F2PError(f"{path}: could not encode PNG")
    with atomic_output(path) as tmp:
        tmp.write_bytes(encoded.tobytes())
