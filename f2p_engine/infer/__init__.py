"""Inference: photo or aligned face -> ONNX ensemble -> `Prediction` (a Recipe with per-region confidence).

Stage role: `AlignedFace` (after an adapter) -> crops -> onnxruntime models -> ensemble -> Recipe.
Never imports torch: this is the run-time path of the app and of `f2p predict`.
"""
