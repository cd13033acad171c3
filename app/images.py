"""Images between Qt and numpy: pasted or dropped images as photos, RGB arrays <-> QImage.

Photo files are read by the engine (`photo_pipeline.read_photo`); this module only handles images
that arrive as QImages, and drawing numpy images.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from app.state import Photo
from f2p_engine.errors import InputError

#: Longest side a pasted image is kept at; larger ones are scaled down.
MAX_SIDE = 4096


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

