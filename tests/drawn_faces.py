"""Tiny stand-in for the synthetic dataset: cartoon faces drawn from known parameters.

Eye size, eye colour, nose length, mouth width and skin tone follow the targets, so a model can
learn them from pixels; every other parameter is noise. Aligned like real samples: the eye
centres sit on `align.eye_targets`.
"""

import cv2
import numpy as np

from f2p_engine.face.align import eye_targets
from f2p_engine.headmodel import schema
from f2p_engine.synth.reader import ArraySource

EYE_RGB = [(120, 70, 20), (160, 110, 50), (40, 140, 40), (40, 80, 200), (120, 170, 230), (20, 30, 140)]
NAMES = [p.name for p in schema.CONTINUOUS]
SKIN = NAMES.index("macrodetails/Gender")
EYE = NAMES.index("eyes/r-eye-scale-decr|incr")
NOSE = NAMES.index("nose/nose-scale-vert-decr|incr")
MOUTH = NAMES.index("mouth/mouth-scale-horiz-decr|incr")
EYE_COLOUR = [g.name for g in schema.DISCRETE_GROUPS].index("eye_colour")


def drawn_faces(count: int, size: int = 96, seed: int = 0) -> ArraySource:
    rng = np.random.default_rng(seed)
    continuous = rng.uniform(0, 1, (count, len(schema.CONTINUOUS))).astype(np.float32)
    discrete = np.stack([rng.integers(len(g.options), size=count) for g in schema.DISCRETE_GROUPS], axis=1)
    images = np.zeros((count, size, size, 3), np.uint8)
    eyes = eye_targets(size)
    centre = eyes.mean(axis=0)
    landmarks = np.repeat(centre[None], 68, axis=0)
    landmarks[36:42], landmarks[42:48] = eyes[0], eyes[1]
    down = np.array([0.0, size])
    landmarks[17:27] = centre - 0.08 * down
    landmarks[27:36] = centre + 0.18 * down
    landmarks[48:68] = centre + 0.35 * down
    landmarks[0:17] = centre + 0.5 * down
    for i in range(count):
        image, values = images[i], continuous[i]
        image[:] = (int(60 + 150 * values[SKIN]), 90, 100)
        for eye in eyes:
            colour = EYE_RGB[discrete[i, EYE_COLOUR]]
            cv2.circle(image, (int(eye[0]), int(eye[1])), int(2 + 6 * values[EYE]), colour, -1)
        cx, cy = int(centre[0]), int(centre[1])
        cv2.line(image, (cx, cy + 4), (cx, cy + int(4 + 20 * values[NOSE])), (255, 200, 200), 3)
        half = int(4 + 14 * values[MOUTH])
        mouth_y = int(cy + 0.35 * size)
        cv2.line(image, (cx - half, mouth_y), (cx + half, mouth_y), (200, 30, 30), 3)
    return ArraySource(images=images, landmarks=np.repeat(landmarks[None], count, axis=0),
                       continuous=continuous, discrete=discrete)
