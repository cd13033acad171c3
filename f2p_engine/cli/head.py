"""`f2p mesh` and `f2p sample`: recipes to meshes, and random recipes from the training distribution."""

from __future__ import annotations

import argparse
from pathlib import Path

from f2p_engine.cli import positive_int, read_recipe_reporting, wrote
from f2p_engine.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    mesh = subparsers.add_parser("mesh", help="write the head mesh of a recipe",
                                 description="Write the character of RECIPE (.mhm or f2p JSON) as OBJ (with its .mtl "
                                             "and the hair, eyebrow and eyelash textures), GLB or PLY.")
    mesh.add_argument("recipe", type=Path, metavar="RECIPE.mhm")
    mesh.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                      help="output file: .obj, .glb or .ply (with --basemesh: .obj)")
    mesh.add_argument("--basemesh", action="store_true",
                      help="write all 19158 hm08 vertices in MakeHuman's order and units (dm, Y up) as OBJ")
    mesh.add_argument("--quads", action="store_true",
                      help="OBJ with the quads of hm08 and of the hair, eyebrow and eyelash proxies (MakeHuman's "
                           "topology) instead of triangles")
    mesh.set_defaults(run=run_mesh)

    sample = subparsers.add_parser("sample", help="write random recipes from the training distribution",
                                   description="Write COUNT random .mhm recipes drawn from the training "
                                               "distribution (see f2p_engine/synth/sampler.py).")
    sample.add_argument("--count", type=positive_int, required=True)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    sample.set_defaults(run=run_sample)


def run_mesh(args: argparse.Namespace) -> int:
    from f2p_engine.files import check_outputs
    from f2p_engine.headmodel.export import HEAD_FORMATS, write_basemesh_obj
    from f2p_engine.headmodel.mesh import HeadModel
    from f2p_engine.render.export import export_character

    suffix = args.output.suffix.lower()
    if args.basemesh and suffix != ".obj":
        raise InputError(f"{args.output}: --basemesh writes OBJ only")
    if suffix not in HEAD_FORMATS:
        raise InputError(f"{args.output}: unsupported mesh format {suffix!r} (use {', '.join(HEAD_FORMATS)})")
    if args.quads and suffix != ".obj":
        raise InputError(f"{args.output}: --quads writes OBJ only (glTF and PLY take triangles)")
    outputs = [args.output]
    if suffix == ".obj" and not args.basemesh:
        outputs.append(args.output.with_suffix(".mtl"))
    check_outputs(outputs, inputs=[args.recipe])
    recipe = read_recipe_reporting("mesh", args.recipe)
    vertices = HeadModel().vertices(recipe.modifiers)
    if args.basemesh:
        write_basemesh_obj(vertices, args.output)
        written = [args.output]
    else:
        written = export_character(vertices, recipe, args.output, quads=args.quads)
    wrote("mesh", *written)
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from f2p_engine.files import atomic_directory
    from f2p_engine.recipe import write_mhm
    from f2p_engine.synth.sampler import sample_recipes

    recipes = sample_recipes(args.count, args.seed)
    with atomic_directory(args.output) as staging:  # all recipes appear together, or none
        for index, recipe in enumerate(tqdm(recipes, total=args.count, desc="sample", unit="recipe",
                                            disable=args.count < 50)):
            write_mhm(recipe, staging / f"sample_{index:04d}.mhm")
    wrote("sample", args.output)
    return 0
