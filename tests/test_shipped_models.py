"""The shipped models: manifest verifies, and `f2p predict` on the bundled synthetic sample writes a clean
recipe close to the sample's true recipe (closer, in every region, than predicting the training mean)."""

import json

import numpy as np

from f2p_engine.cli import main
from f2p_engine.evaluate.labels import hair_length
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
    # The models predict hair: the sample's short afro01 comes back as a short style, written as MakeHuman does.
    truth_recipe = read_recipe(TRUTH).recipe
    assert hair_length(result.recipe.choice("hair")) == hair_length(truth_recipe.choice("hair")) == "short"
    assert [line for line in out.read_text().splitlines() if line.startswith("hair ")]
    data = json.loads(report.read_text())
    assert set(data["confidence"]) <= set(schema.REGIONS)
    assert {"align", "models", "ensemble"} <= set(data["timings_ms"])
    predicted = _normalised(continuous_vector(result.recipe))
    truth = _normalised(continuous_vector(read_recipe(TRUTH).recipe))
    calibration = load_manifest().calibration
    mean = np.asarray([calibration.train_mean[p.name] for p in schema.CONTINUOUS])
    regions = np.asarray([p.region for p in schema.CONTINUOUS])
    for region in schema.REGIONS:
        columns = regions == region
        l1 = np.abs(predicted[columns] - truth[columns]).mean()
        # Below the mean prediction's error on this face, and below its held-out average (the manifest's).
        assert l1 < np.abs(mean[columns] - truth[columns]).mean(), region
        assert l1 < calibration.baseline_l1[region], region


def _normalised(values: np.ndarray) -> np.ndarray:
    """Slider values in the schema's normalised units ([0, 1] = the full range), as the models predict them."""
    return np.asarray([p.normalise(v) for p, v in zip(schema.CONTINUOUS, values, strict=True)])
