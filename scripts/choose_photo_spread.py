"""Choose how photos' predictions are de-shrunk, on the development photos, and write it into a model manifest.

On photos the members predict the face sliders close to the mean (they read photos through a domain
gap; see `ensemble.fit_photo_spread`): measured on the 22 development faces with the shipped models,
the predicted face sliders spread across people about half as wide as the training prior. This
fits, per face slider, the stretch that brings that spread to `--spread` x the prior's (at most
`ensemble.MAX_PHOTO_SPREAD`), about the photos' mean and onto the training mean, writes it into
MODELS/manifest.json (`ensemble.photo_spread`) and records the FaceNet judge before and after under
`metrics.photo_spread`. Gender and Age (the macro member) and the ethnic sliders (measured skin tone)
are not stretched. Development photos only (`../shared/data/fetch_dev_photos.sh`), never CelebA.

    python scripts/choose_photo_spread.py --photos DEV_DIR --models data/run/models [--min-face 150]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.ensemble import fit_photo_spread
from f2p_engine.evaluate.judges import create_judge
from f2p_engine.evaluate.likeness import RenderEmbedder, collect_faces, judge_reconstructions, photo_files
from f2p_engine.headmodel import schema
from f2p_engine.infer.manifest import load_manifest, write_manifest
from f2p_engine.infer.pipeline import Predictor
from f2p_engine.synth.sampler import prior_spread

JUDGE = "facenet"
#: The face sliders: not the macro details (Gender and Age come from the macro member, the ethnic
#: sliders from the measured skin tone, Muscle and Weight shape the whole body).
STRETCHED = np.array([p.region != "macro" for p in schema.CONTINUOUS])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="development photos (never CelebA)")
    parser.add_argument("--models", type=Path, required=True, help="model folder whose manifest is rewritten")
    parser.add_argument("--min-face", type=float, default=150.0, help="smallest face width in px (default 150)")
    parser.add_argument("--spread", type=float, default=0.9, help="target spread / the prior's (default 0.9)")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    predictor = Predictor.load(args.models, threads=2)
    judges = {JUDGE: create_judge(JUDGE)}
    photos = photo_files(args.photos)
    with tqdm(total=len(photos), desc="faces", unit="photo") as bar:
        faces, _ = collect_faces(predictor, photos, [DEFAULT_ADAPTER], judges, min_face=args.min_face,
                                 progress=bar.update)
    predictions = np.concatenate([predictor.combine(face.outputs[DEFAULT_ADAPTER])[0] for face in faces])
    manifest = load_manifest(args.models)
    target = np.asarray([manifest.calibration.train_mean.get(p.name, 0.5) for p in schema.CONTINUOUS])
    prior = prior_spread()
    spread = fit_photo_spread(predictions, prior, STRETCHED, target, spread=args.spread)
    predictor.spread = spread
    embed = RenderEmbedder(judges)
    scores = {}
    for widened in (False, True):
        result = judge_reconstructions(predictor, faces, DEFAULT_ADAPTER, predictor.weights, embed, judges=[JUDGE],
                                       readings=True, widened=widened)
        scores["after" if widened else "before"] = result.judges[JUDGE].mean_rank_percentile
    ratio = predictions.std(axis=0) / np.maximum(prior, 1e-9)
    record = {"judge": JUDGE, "adapter": DEFAULT_ADAPTER, "faces": len(faces), "min_face": args.min_face,
              "photos": [p.name for p in photos], "target_spread": args.spread,
              "spread_before": float(np.median(ratio[STRETCHED])),
              "spread_after": float(np.median(np.minimum(ratio * spread.scale, 99)[STRETCHED])),
              "rank_percentile": scores}
    names = [p.name for p in schema.CONTINUOUS]
    chosen = {names[i]: [float(spread.centre[i]), float(spread.scale[i]), float(spread.target[i])]
              for i in np.flatnonzero(STRETCHED)}
    path = write_manifest(args.models, manifest.models, continuous_weights=manifest.continuous_weights,
                          group_weights=manifest.group_weights, photo_shift=manifest.photo_shift,
                          photo_spread=chosen, calibration=manifest.calibration, data=manifest.data,
                          metrics={**manifest.metrics, "photo_spread": record})
    print(f"{path}: photo_spread for {len(chosen)} sliders from {len(faces)} faces: median spread / prior "
          f"{record['spread_before']:.2f} -> {record['spread_after']:.2f}, FaceNet rank percentile "
          f"{scores['before']:.3f} -> {scores['after']:.3f} ({time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
