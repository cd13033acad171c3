"""f2p engine: photo of a face -> MakeHuman recipe, GUI-free.

Stages, in data-flow order, each importing only earlier ones (DESIGN.md; tests/test_architecture.py):
headmodel -> recipe -> render -> face -> synth -> adapt -> nets -> ensemble -> infer -> train ->
evaluate -> cli. `errors`, `files` and `plot` are helpers every stage may use. Heavy optional modules
(onnxruntime, moderngl) are imported inside the functions that need them so this import stays light;
torch only in training (`train/` and the model definitions of `nets/`), never at run time.
"""

import os

from f2p_engine.errors import F2PError

__all__ = ["MAX_IMAGE_PIXELS", "F2PError", "__version__"]
__version__ = "0.1.0"

#: Largest image decoded: Pillow's own decompression-bomb limit. f2p_engine.face.image checks every
#: header against it before decoding.
MAX_IMAGE_PIXELS = 178_956_970
# OpenCV reads these once, when it loads, so they are set here, before any stage imports cv2: its
# own pixel limit as a second guard behind those header checks, and no log lines of its own (a
# corrupt photo must end in the one line naming it, not in decoder chatter).
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
