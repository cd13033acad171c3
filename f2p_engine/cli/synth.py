"""`f2p render`, `f2p generate`, `f2p contact-sheet`: recipes to pictures, and the synthetic dataset."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from f2p_engine.cli import image_side, positive_int, read_recipe_reporting, wrote
from f2p_engine.errors import InputError

VIEWS = ("front", "three-quarter", "side")


def register(subparsers: argparse._SubParsersAction) -> None:
    side = image_side(2048)
    render = subparsers.add_parser("render", help="render the head of a recipe to a PNG",
                                   description="Render the head of RECIPE (.mhm or f2p JSON) with its skin and "
                                               "eye colour, on a grey background, to a PNG.")
    render.add_argument("recipe", type=Path, metavar="RECIPE.mhm")
    render.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.png")
    render.add_argument("--size", type=side, default=512, metavar="PX", help="image side in pixels (default 512)")
    render.add_argument("--view", choices=VIEWS, default="front", help="head turned by 0, 35 or 90 degrees")
    render.set_defaults(run=run_render)

    generate = subparsers.add_parser(
        "generate", help="render a synthetic training dataset",
        description="Render COUNT augmented, aligned samples of random recipes (seed SEED) into DIR as "
                    "shards of .npy arrays with DIR/manifest.json (see f2p_engine/synth/dataset.py). "
                    "Deterministic for a seed; rerunning the same command resumes an interrupted run.")
    generate.add_argument("--count", type=positive_int, required=True)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1,
                          help="worker processes, one per core (default: all cores)")
    generate.add_argument("--size", type=side, default=256, metavar="PX", help="aligned image side (default 256)")
    generate.add_argument("--shard-size", type=positive_int, default=None, metavar="N",
                          help="samples per shard (default 200)")
    generate.add_argument("--no-descriptors", dest="descriptors", action="store_false",
                          help="leave out each sample's identity descriptor (10x faster): for data that trains "
                               "only the CNN members (`f2p train` computes missing descriptors itself, on one "
                               "core)")
    generate.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    generate.add_argument("--contact-sheet", type=Path, default=None, metavar="SHEET.png",
                          help="also write a contact sheet of the first samples with their masks")
    generate.set_defaults(run=run_generate)

    sheet = subparsers.add_parser("contact-sheet", help="draw samples of a dataset with their masks",
                                  description="Draw the first COUNT samples of the dataset in DIR: aligned image "
                                              "with mesh landmarks and eye targets, and its region labels.")
    sheet.add_argument("dataset", type=Path, metavar="DIR")
    sheet.add_argument("-o", "--output", type=Path, required=True, metavar="SHEET.png")
    sheet.add_argument("--count", type=positive_int, default=24)
    sheet.add_argument("--columns", type=positive_int, default=4)
    sheet.set_defaults(run=run_contact_sheet)


def _check_png(path: Path) -> None:
    if path.suffix.lower() != ".png":
        raise InputError(f"{path}: output must be a .png file")


def run_render(args: argparse.Namespace) -> int:
    from f2p_engine.face.image import write_png
    from f2p_engine.files import check_outputs
    from f2p_engine.render.recipe_view import render_recipe
    from f2p_engine.render.renderer import Renderer

    _check_png(args.output)
    check_outputs([args.output], inputs=[args.recipe])
    recipe = read_recipe_reporting("render", args.recipe)
    write_png(args.output, render_recipe(recipe, Renderer(args.size), view=args.view))
    wrote("render", args.output)
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from f2p_engine.face.image import write_png
    from f2p_engine.files import check_outputs
    from f2p_engine.synth.dataset import DEFAULT_SHARD_SIZE, GenerateSettings, generate
    from f2p_engine.synth.reader import SyntheticDataset
    from f2p_engine.synth.sheet import contact_sheet

    if args.output.exists() and not args.output.is_dir():
        raise InputError(f"{args.output}: exists and is not a directory")
    if args.contact_sheet is not None:
        _check_png(args.contact_sheet)
        check_outputs([args.contact_sheet])  # before the long work, not after it
    settings = GenerateSettings(seed=args.seed, size=args.size, shard_size=args.shard_size or DEFAULT_SHARD_SIZE,
                                descriptors=args.descriptors)
    with tqdm(total=args.count, desc="generate", unit="sample", disable=args.count < 50) as bar:
        generate(args.output, args.count, settings, workers=args.workers, progress=bar.update)
    if args.contact_sheet is not None:
        write_png(args.contact_sheet, contact_sheet(SyntheticDataset.open(args.output)))
    wrote("generate", *([args.output] if args.contact_sheet is None else [args.output, args.contact_sheet]))
    return 0


def run_contact_sheet(args: argparse.Namespace) -> int:
    from f2p_engine.face.image import write_png
    from f2p_engine.files import check_outputs
    from f2p_engine.synth.reader import SyntheticDataset
    from f2p_engine.synth.sheet import contact_sheet

    _check_png(args.output)
    check_outputs([args.output], inputs=[args.dataset])
    sheet = contact_sheet(SyntheticDataset.open(args.dataset), count=args.count, columns=args.columns)
    write_png(args.output, sheet)
    wrote("contact-sheet", args.output)
    return 0
