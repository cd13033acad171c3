"""The shipped models: manifest verifies, and `f2p predict` on the bundled sample writes a clean recipe."""

import json

import numpy as np

from f2p_engine.cli import main
from f2p_engine.files import resources_dir
from f2p_engine.headmodel import schema
from f2p_engine.infer.manifest import load_manifest
from f2p_engine.recipe import continuous_vector, read_recipe

SAMPLE = resources_dir() / "samples" / "synthetic_face.png"
TRUTH = resources_dir() / "samples" / "synthetic_face.mhm"


def test_shipped_manifest_verifies_and_is_small():
    manifest = load_manifest()  # raises on a hash mismatch or another schema version
    files = [manifest.path(m) for m in manifest.models]
    assert sum(f.stat().st_size for f in files) < 30 * 2**20


def test_predict_on_the_bundled_sample(tmp_path):
    out, report = tmp_path / "face.mhm", tmp_path / "face.json"
    assert main(["predict", str(SAMPLE), "-o", str(out), "--json", str(report)]) == 0
    result = read_recipe(out)
    assert result.warnings == ()
    assert result.recipe.unapplied() == []
    data = json.loads(report.read_text())
    assert set(data["confidence"]) <= set(schema.REGIONS)
    assert {"align", "models", "ensemble"} <= set(data["timings_ms"])
    predicted = continuous_vector(result.recipe)
    truth = continuous_vector(read_recipe(TRUTH).recipe)
    assert predicted.shape == truth.shape
    assert np.isfinite(predicted).all()
