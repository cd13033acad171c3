"""Evaluation: shipped ONNX models -> metrics.json, report.md, plots.

Stage role: `Predictor` (infer) over a `SampleSource` -> the paper's comparison tables (Tables 2
and 3, `report`), and over real photos -> identity distances to renders of the reconstructions
(Table 4, `likeness`).
"""
