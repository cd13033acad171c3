"""468 mesh points -> the project's 68 landmarks (dlib's iBUG order): a fixed table of weighted pairs.

Alignment, region boxes, the synthetic factory and the app speak dlib's 68-point convention (points
36-41 and 42-47 are the eyes, whose centres fix the alignment). MediaPipe's mesh has no point for
some of them (dlib's jaw follows the visible outline), so each is the mesh point, or the weighted
mean of two, that lies nearest dlib's point on real photos: chosen by `scripts/pick_mesh68.py` on the
dev photos (20 faces; median error over faces, relative to the inter-eye distance: eye centres
0.015 and 0.028, eyes 0.031, nose 0.028, mouth 0.037, eyebrows 0.045, jaw 0.089).
"""

from __future__ import annotations

import numpy as np

# Row k: (a, b, w), dlib point k = w * mesh[a] + (1 - w) * mesh[b].
_TABLE = (
    (127, 234, 0.75), (227, 137, 0.5), (147, 123, 0.75), (213, 215, 0.75),
    (138, 138, 1.0), (135, 150, 0.5), (149, 149, 1.0), (148, 176, 0.75),
    (152, 152, 1.0), (377, 400, 0.5), (378, 378, 1.0), (365, 379, 0.75),
    (397, 367, 0.75), (288, 401, 0.75), (361, 323, 0.75), (454, 366, 0.75),
    (356, 356, 1.0), (70, 63, 0.75), (105, 162, 0.75), (104, 28, 0.5),
    (66, 55, 0.75), (107, 189, 0.75), (336, 417, 0.75), (296, 285, 0.75),
    (442, 333, 0.5), (293, 334, 0.75), (300, 301, 0.75), (168, 6, 0.75),
    (197, 6, 0.75), (248, 51, 0.5), (4, 4, 1.0), (98, 238, 0.75),
    (97, 242, 0.75), (164, 458, 0.75), (326, 326, 1.0), (460, 290, 0.75),
    (7, 7, 1.0), (159, 7, 0.75), (158, 154, 0.75), (133, 26, 0.75),
    (157, 230, 0.5), (24, 159, 0.75), (341, 381, 0.5), (382, 257, 0.5),
    (385, 466, 0.5), (249, 359, 0.75), (373, 254, 0.75), (374, 452, 0.75),
    (43, 186, 0.5), (39, 42, 0.5), (37, 0, 0.75), (0, 11, 0.75),
    (267, 302, 0.75), (269, 408, 0.75), (306, 287, 0.75), (405, 335, 0.75),
    (313, 315, 0.5), (17, 18, 0.75), (83, 85, 0.5), (181, 91, 0.5),
    (62, 146, 0.5), (38, 86, 0.75), (0, 16, 0.5), (302, 315, 0.75),
    (407, 273, 0.75), (316, 302, 0.75), (14, 15, 0.75), (87, 86, 0.75),
)
_FIRST = np.array([row[0] for row in _TABLE])
_SECOND = np.array([row[1] for row in _TABLE])
_WEIGHT = np.array([row[2] for row in _TABLE])[:, None]
assert len(_TABLE) == 68


def landmarks_68(mesh: np.ndarray) -> np.ndarray:
    """(68, 2) float64 landmarks in dlib's order from (468, 2+) mesh points (same pixel frame)."""
    points = np.asarray(mesh, dtype=np.float64)[:, :2]
    return _WEIGHT * points[_FIRST] + (1.0 - _WEIGHT) * points[_SECOND]
