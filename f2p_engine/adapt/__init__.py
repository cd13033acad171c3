"""Adapt stage: `AlignedFace` -> the same face moved toward the synthetic look (domain adapters).

Importing the package registers the built-in adapters: `none` and `photometric`.
"""

from f2p_engine.adapt import photometric
from f2p_engine.adapt.base import Adapter, available_adapters, create_adapter, register_adapter, stylise

#: The adapter every entry point uses unless told otherwise: photos get the renders' plain
#: background outside the face and their skin chroma, the look the models were trained on.
DEFAULT_ADAPTER = "photometric"

__all__ = ["DEFAULT_ADAPTER", "Adapter", "available_adapters", "create_adapter", "photometric", "register_adapter",
           "stylise"]
