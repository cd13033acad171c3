"""Training: losses, data, training loop, ensemble weight fitting, ONNX export.

Stage role: synthetic dataset + `nets` models -> trained checkpoints -> ONNX files + ensemble weights.
`ensemble` is numpy-only; the other modules import torch, so import them only where training happens.
"""
