"""Adapt stage: `AlignedFace` -> the same face moved toward the synthetic look (domain adapters).

Importing the package registers the built-in adapters: `none` and `photometric`.
"""

from f2p_engine.adapt import photometric
from f2p_engine.adapt.base import Adapter, available_adapters, create_adapter, register_adapter, stylise

#: The adapter every entry point uses unless told otherwise. On the 22 development faces the FaceNet
#: judge could not tell it from no adapter (mean rank percentile 0.188 vs 0.171, each searched for
#: its own photo weights; the standard error at 22 faces is ~0.04), but without it the skin classifier
#: read warm light as dark skin (11 of 22 faces, Grace Hopper among them, against 5) and Gender was on
#: the wrong side for 4 faces instead of 2: photos get the renders' plain background and skin chroma.
DEFAULT_ADAPTER = "photometric"

__all__ = ["DEFAULT_ADAPTER", "Adapter", "available_adapters", "create_adapter", "photometric", "register_adapter",
           "stylise"]
