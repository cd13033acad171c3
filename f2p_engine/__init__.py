"""f2p engine: photo of a face -> MakeHuman recipe, GUI-free.

Stages, in data-flow order: headmodel -> recipe -> render -> synth -> face -> adapt ->
nets/train -> infer -> evaluate -> cli. Heavy optional modules (onnxruntime, torch, moderngl)
are imported inside the functions that need them so this import stays light.
"""

from f2p_engine.errors import F2PError

__all__ = ["F2PError", "__version__"]
__version__ = "0.1.0"
