#!/usr/bin/env bash
# Rebuild the shipped models in resources/models/ from scratch, reproducibly:
# synthetic training data (seed 101) and a held-out set (seed 9001, never used in training),
# the ensemble (scripts/ensemble_config.json), the evaluation report, then the copy into
# resources/models/ (ONNX files + manifest.json with sha256, data seed/size, metrics) and
# resources/models/evaluation/ (metrics.json, report.md, plots).
# Measured on 2 cores: data 2.5 min (5 GB), training about 40 min (4.9 GB peak RSS). Usage: scripts/train_models.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-data}
f2p generate --count 20000 --seed 101 --workers 2 -o "$work/train20k"
f2p generate --count 1000 --seed 9001 --workers 2 -o "$work/heldout1k"
f2p train --data "$work/train20k" -o "$work/run" --config scripts/ensemble_config.json
f2p evaluate --data "$work/heldout1k" --models "$work/run/models" --out "$work/run/evaluation"
rm -rf resources/models
cp -r "$work/run/models" resources/models
mkdir -p resources/models/evaluation
cp "$work/run/evaluation"/* resources/models/evaluation/
