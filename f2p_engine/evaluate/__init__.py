"""Evaluation: shipped ONNX models + held-out synthetic data -> metrics.json, report.md, plots.

Stage role: `Predictor` (infer) over a `SampleSource` -> the paper's comparison tables.
"""
