"""Adapt stage: `AlignedFace` -> the same face moved toward the synthetic look (domain adapters).

Importing the package registers the built-in adapters: `identity` and `photometric`.
"""

from f2p_engine.adapt import photometric
from f2p_engine.adapt.base import Adapter, available_adapters, create_adapter, register_adapter, stylise

__all__ = ["Adapter", "available_adapters", "create_adapter", "photometric", "register_adapter", "stylise"]
