"""Images between Qt and numpy: reading a photo for display, RGB arrays <-> QImage.

Photos are read with Qt's reader with EXIF orientation applied, downscaled when huge (the
display never needs more), and converted to upright (H, W, 3) uint8 RGB for the state.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QImageReader

from app.state import Photo
from f2p_engine.errors import InputError

#: Longest side a photo is kept at; larger photos are scaled down on reading.
MAX_SIDE = 4096


def read_photo(path: str | os.PathLike[str]) -> Photo:
    """Read an image file as an upright RGB `Photo`; raises InputError naming the file and problem."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > MAX_SIDE:
        reader.setScaledSize(size.scaled(MAX_SIDE, MAX_SIDE, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        raise InputError(f"{path}: not a readable image ({reader.errorString()})")
    return Photo(name=path.name, pixels=qimage_to_rgb(image), path=path)


def photo_from_qimage(image: QImage, name: str) -> Photo:
    """A pasted or dropped image (no file behind it) as a `Photo`."""
    if image.isNull():
        raise InputError(f"{name}: empty image")
    if max(image.width(), image.height()) > MAX_SIDE:
        image = image.scaled(MAX_SIDE, MAX_SIDE, Qt.AspectRatioMode.KeepAspectRatio)
    return Photo(name=name, pixels=qimage_to_rgb(image))


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """(H, W, 3) uint8 RGB copy of any QImage (grey, RGBA, 16-bit... are converted)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    buffer = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * height)
    return buffer.reshape(height, stride)[:, : width * 3].reshape(height, width, 3).copy()


def rgb_to_qimage(pixels: np.ndarray) -> QImage:
    """A QImage owning a copy of (H, W, 3) uint8 RGB pixels."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    return QImage(pixels.data, width, height, width * 3, QImage.Format.Format_RGB888).copy()

