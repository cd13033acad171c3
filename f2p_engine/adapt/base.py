"""The adapter interface and registry: aligned photo (RGB) -> the same face in the synthetic look.

An adapter sees the aligned image and its landmarks (aligned pixels) and returns an image of the
same size; `stylise` applies one to an `AlignedFace` and redoes the crops, so the models see
crops of the adapted image. New adapters (learned ones later) subclass `Adapter` and register
with `@register_adapter`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, TypeVar

import numpy as np

from f2p_engine.errors import InputError

if TYPE_CHECKING:  # the face stack loads OpenCV: listing the adapters (the studio's start) does not need it
    from f2p_engine.face.aligned import AlignedFace


class Adapter(ABC):
    """Maps an aligned real photo toward the look of the synthetic renders."""

    #: Registry key, used by `f2p align --adapter NAME` and the app's adapter choice.
    name: ClassVar[str]
    #: One line for --help and the app.
    description: ClassVar[str]

    @abstractmethod
    def apply(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """(S, S, 3) uint8 RGB aligned image and its (68, 2) float landmarks -> (S, S, 3) uint8 RGB."""


_REGISTRY: dict[str, type[Adapter]] = {}
AdapterType = TypeVar("AdapterType", bound=type[Adapter])


def register_adapter(cls: AdapterType) -> AdapterType:
    """Class decorator: make `cls` available to `create_adapter(cls.name)`."""
    if cls.name in _REGISTRY:
        raise ValueError(f"adapter {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def available_adapters() -> dict[str, str]:
    """Registered adapter names -> their one-line descriptions, in registration order."""
    return {name: cls.description for name, cls in _REGISTRY.items()}


def create_adapter(name: str, **kwargs: object) -> Adapter:
    """A new adapter by registry name; InputError naming the choices if `name` is unknown."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown adapter {name!r} (available: {', '.join(_REGISTRY)})") from None
    return cls(**kwargs)


def stylise(face: AlignedFace, adapter: Adapter) -> AlignedFace:
    """`face` with its image replaced by the adapter's output and crops taken from that."""
    return face.with_image(adapter.apply(face.image, face.landmarks))


@register_adapter
class NoAdapter(Adapter):
    """Leaves the photo as it is (the baseline every other adapter is measured against)."""

    name = "none"
    description = "no change: the models see the aligned photo itself"

    def apply(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return image.copy()
