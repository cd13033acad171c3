"""`f2p align`: photo -> aligned face, stylised face, region crops and landmarks JSON in a folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from f2p_engine.adapt import DEFAULT_ADAPTER
from f2p_engine.cli import image_side, warn, wrote
from f2p_engine.errors import InputError

if TYPE_CHECKING:
    import numpy as np


def register(subparsers: argparse._SubParsersAction) -> None:
    align = subparsers.add_parser(
        "align", help="align the face of a photo and crop its regions",
        description="Find the largest face in PHOTO, align it (eye centres on fixed pixels) and write "
                    "DIR/aligned.png, DIR/stylised.png (after the adapter), DIR/crops/<region>.png "
                    "(crops of the stylised image: what the local models see) and DIR/landmarks.json.")
    align.add_argument("photo", type=Path, metavar="PHOTO")
    align.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    align.add_argument("--adapter", default=DEFAULT_ADAPTER, metavar="NAME",
                       help=f"domain adapter: none or photometric (default: {DEFAULT_ADAPTER})")
    align.add_argument("--size", type=image_side(4096), default=256, metavar="PX",
                       help="aligned image side (default 256)")
    align.set_defaults(run=run_align)


def run_align(args: argparse.Namespace) -> int:
    from f2p_engine.adapt import create_adapter, stylise
    from f2p_engine.face.align import eye_targets
    from f2p_engine.face.aligned import align_photo
    from f2p_engine.face.image import load_image, write_png
    from f2p_engine.files import atomic_directory

    adapter = create_adapter(args.adapter)
    if args.output.exists() and not args.output.is_dir():
        raise InputError(f"{args.output}: exists and is not a folder")
    face = align_photo(load_image(args.photo), size=args.size)
    stylised = stylise(face, adapter)
    if face.faces_found > 1:
        warn("align", f"{args.photo}: {face.faces_found} faces found, using the largest")
    record = {
        "source": str(args.photo),
        "size": face.size,
        "adapter": adapter.name,
        "landmarks": _rounded(face.landmarks),
        "eye_targets": _rounded(eye_targets(face.size)),
        "boxes": {region: box.as_list() for region, box in face.boxes.items()},
        "transform": _rounded(face.transform, 6),
        "detection": {"score": round(face.detection.score, 4), "faces_found": face.faces_found,
                      "box": [round(v, 2) for v in face.detection.box],
                      "landmarks": _rounded(face.detection.landmarks)},
    }
    # Everything goes into a fresh folder beside DIR that replaces DIR's files only when complete.
    with atomic_directory(args.output, inputs=[args.photo]) as staging:
        write_png(staging / "aligned.png", face.image)
        write_png(staging / "stylised.png", stylised.image)
        for region, crop in stylised.crops.items():
            write_png(staging / "crops" / f"{region}.png", crop)
        # One key per line, each value on one line: readable and diff-friendly.
        lines = ",\n".join(f" {json.dumps(key)}: {json.dumps(value)}" for key, value in record.items())
        (staging / "landmarks.json").write_text("{\n" + lines + "\n}\n")
    wrote("align", args.output)
    return 0


def _rounded(array: np.ndarray, decimals: int = 3) -> list[list[float]]:
    return [[round(float(v), decimals) for v in row] for row in array]

