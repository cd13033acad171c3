"""f2p engine: photo of a face -> MakeHuman recipe, GUI-free.

Stages, in data-flow order, each importing only earlier ones (DESIGN.md; tests/test_architecture.py):
headmodel -> recipe -> render -> face -> synth -> adapt -> nets -> ensemble -> infer -> train ->
evaluate -> cli. `errors`, `files` and `plot` are helpers every stage may use. Heavy optional modules
(onnxruntime, moderngl) are imported inside the functions that need them so this import stays light;
torch only in training (`train/` and the model definitions of `nets/`), never at run time.
"""

from f2p_engine.errors import F2PError

__all__ = ["F2PError", "__version__"]
__version__ = "0.1.0"
