"""Training: losses, data, training loop, ensemble weight fitting, ONNX export.

Stage role: synthetic dataset + `nets` models -> trained checkpoints -> ONNX files + ensemble weights.
Every module here imports torch, so import them only where training happens; the numpy parts that
inference and evaluation share live earlier: ensemble math and metrics in `f2p_engine.ensemble`, the
dataset reader in `f2p_engine.synth.reader`, charts in `f2p_engine.plot`.
"""
