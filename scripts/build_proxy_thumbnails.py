#!/usr/bin/env python3
"""Render the studio's thumbnails of each hair, eyebrow and eyelash option into `resources/proxies/`.

One PNG strip per group, `thumbnails_<group>.png`: `TILE` x `TILE` tiles side by side in the schema's
option order, each the neutral head wearing that option (hair: the whole head, three-quarter view;
eyebrows and eyelashes: the right eye and brow, close up). Made with the engine's own renderer.
Usage: python scripts/build_proxy_thumbnails.py [--out resources/proxies]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from f2p_engine.face.image import write_png  # noqa: E402
from f2p_engine.headmodel import schema  # noqa: E402
from f2p_engine.headmodel.mesh import HeadModel, default_modifiers  # noqa: E402
from f2p_engine.render.palette import HAIR_ALBEDO  # noqa: E402
from f2p_engine.render.renderer import Renderer  # noqa: E402
from f2p_engine.render.scene import PROXY_BROW_PAINT, Appearance, Pose, face_camera, view_camera  # noqa: E402

TILE = 64
THUMBNAIL_GROUPS = ("hair", "eyebrows", "eyelashes")
#: Neutral look the options are shown on: mid-brown hair, so every style reads against skin and background.
_COLOUR = HAIR_ALBEDO["dark_brown"]
_BACKGROUND = 60


def thumbnail(renderer: Renderer, vertices: np.ndarray, group: str, option: str) -> np.ndarray:
    look = {"eyebrows": "eyebrow001", "eyelashes": "eyelashes01", group: option}
    appearance = Appearance(hair_colour=_COLOUR, brow_colour=_COLOUR, brow_thickness=PROXY_BROW_PAINT, **look)
    if group == "hair":
        camera, pose = view_camera(), Pose(yaw=30.0)
    else:  # the subject's right eye (image left) and its brow
        camera, pose = face_camera(width=0.8, eye_height=0.6, offset=(-0.31, 0.05)), Pose()
    background = np.full((renderer.size, renderer.size, 3), _BACKGROUND, np.uint8)
    image = renderer.render(vertices, camera, pose=pose, appearance=appearance, background=background).image
    return cv2.resize(image, (TILE, TILE), interpolation=cv2.INTER_AREA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "proxies")
    args = parser.parse_args()
    renderer = Renderer(4 * TILE)
    vertices = HeadModel(vertex_ids=renderer.vertex_ids).vertices(default_modifiers())
    for group in THUMBNAIL_GROUPS:
        strip = np.hstack([thumbnail(renderer, vertices, group, option)
                           for option in schema.discrete_by_name()[group].options])
        write_png(args.out / f"thumbnails_{group}.png", strip)
    renderer.release()


if __name__ == "__main__":
    main()
