"""Choose the shipped photo weights on the development photos and write them into a model manifest.

For each domain adapter (or the one given), `evaluate.photo_shift.choose_photo_shift` searches per
region how far the members' weights move toward the identity member, scored by the FaceNet judge's
mean rank percentile on the faces of the development photos (`../shared/data/fetch_dev_photos.sh`,
never CelebA). The best adapter's shift goes into MODELS/manifest.json (`ensemble.photo_shift`),
with what it was chosen on under `metrics.photo_shift`; the adapter should be `adapt.DEFAULT_ADAPTER`.

    python scripts/choose_photo_shift.py --photos DEV_DIR --models data/run/models [--min-face 150]
        [--adapter NAME]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tqdm import tqdm

from f2p_engine.adapt import available_adapters
from f2p_engine.evaluate.judges import create_judge
from f2p_engine.evaluate.likeness import RenderEmbedder, collect_faces, photo_files
from f2p_engine.evaluate.photo_shift import choose_photo_shift
from f2p_engine.infer.manifest import load_manifest, write_manifest
from f2p_engine.infer.pipeline import Predictor

JUDGE = "facenet"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="development photos (never CelebA)")
    parser.add_argument("--models", type=Path, required=True, help="model folder whose manifest is rewritten")
    parser.add_argument("--min-face", type=float, default=150.0, help="smallest face width in px (default 150)")
    parser.add_argument("--rounds", type=int, default=2, help="coordinate-descent rounds (default 2)")
    parser.add_argument("--adapter", default=None, help="search for this adapter only (default: every adapter)")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    predictor = Predictor.load(args.models, threads=2)
    judges = {JUDGE: create_judge(JUDGE)}
    photos = photo_files(args.photos)
    adapters = [args.adapter] if args.adapter else list(available_adapters())
    with tqdm(total=len(photos), desc="faces", unit="photo") as bar:
        faces, _ = collect_faces(predictor, photos, adapters, judges, min_face=args.min_face, progress=bar.update)
    embed = RenderEmbedder(judges)
    choices = {}
    for adapter in adapters:
        with tqdm(desc=f"search ({adapter})", unit="score") as bar:
            choices[adapter] = choose_photo_shift(predictor, faces, adapter, embed, JUDGE,
                                                  rounds=args.rounds, progress=bar.update)
        print(f"{adapter}: rank percentile {choices[adapter].score[0]:.3f}, distance {choices[adapter].score[1]:.4f}, "
              f"shift {choices[adapter].shift}")
    adapter = min(choices, key=lambda a: choices[a].score)
    chosen = choices[adapter]
    manifest = load_manifest(args.models)
    record = {"judge": JUDGE, "adapter": adapter, "faces": len(faces), "min_face": args.min_face,
              "photos": [p.name for p in photos], "rank_percentile": chosen.score[0], "distance": chosen.score[1],
              "by_adapter": {a: {"shift": c.shift, "rank_percentile": c.score[0], "distance": c.score[1]}
                             for a, c in choices.items()}}
    path = write_manifest(args.models, manifest.models, continuous_weights=manifest.continuous_weights,
                          group_weights=manifest.group_weights, photo_shift=chosen.shift,
                          calibration=manifest.calibration, data=manifest.data,
                          metrics={**manifest.metrics, "photo_shift": record})
    print(f"{path}: photo_shift {chosen.shift} (adapter {adapter}, {len(faces)} faces, "
          f"{time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
