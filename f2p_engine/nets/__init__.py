"""Models: aggregate and local CNNs over aligned faces and region crops.

Stage role: aligned face (uint8 RGB + landmarks) -> `preprocess` -> float32 tensor -> `ParamNet`
-> (continuous parameters in [0, 1], logits per discrete group).

`spec` is torch-free (inference reads it); `backbones`, `model`, `registry` and `identity` import torch, so
import them only where training happens: `from f2p_engine.nets.registry import create_net`.
"""
