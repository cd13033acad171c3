"""The 68 mesh landmarks: hm08 vertices with the meaning of dlib's 68-point landmarks.

Point k of dlib's model (iBUG 300-W order: 0-16 jaw from the subject's right to left, 17-26
eyebrows, 27-35 nose, 36-47 eyes, 48-67 lips) is hm08 vertex `MESH_LANDMARKS[k]`. They were
chosen by `scripts/pick_mesh_landmarks.py`: the vertex whose projection best matches dlib's
own prediction on head-on renders of random recipes, chosen pairwise through the hm08 mirror
table so the set is left/right symmetric. Jaw points are fixed vertices, so under strong yaw
they leave the silhouette where dlib's contour points slide along it.
"""

from __future__ import annotations

#: dlib point index of each point's left/right partner (itself on the midline).
DLIB_MIRROR: tuple[int, ...] = (
    *range(16, -1, -1),  # jaw
    *range(26, 16, -1),  # eyebrows
    27, 28, 29, 30, 35, 34, 33, 32, 31,  # nose bridge, nostrils
    45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,  # eyes
    54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,  # outer lips
    64, 63, 62, 61, 60, 67, 66, 65,  # inner lips
)
assert len(DLIB_MIRROR) == 68
assert all(DLIB_MIRROR[DLIB_MIRROR[k]] == k for k in range(68))

#: Output of `python scripts/pick_mesh_landmarks.py --count 60 --seed 1000` (60 of 60 renders detected).
MESH_LANDMARKS: tuple[int, ...] = (
    5755, 5186, 5246, 5206, 895, 5298, 5295, 926, 5296, 7628, 11901, 11903, 7597, 11817, 11854, 11798, 12352,
    262, 232, 222, 223, 228, 7001, 6997, 6996, 7005,
    7031, 132, 135, 164, 294, 320, 313, 317, 7076,
    7082, 1088, 6757, 1099, 6769, 1096, 1068, 13365, 7791, 13353, 7780, 7760,
    7788, 529, 5351, 460, 466, 7219, 11953, 7274, 7239, 7241, 492, 486,
    484, 419, 472, 537, 7228, 7179, 7279, 520, 534,
)
assert len(MESH_LANDMARKS) == 68
