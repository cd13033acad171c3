"""Hair beside and above the face, measured in a photo: `RGBImage` + `Detection` -> `HairReading`.

The ensemble's members read hair on renders but not on photos (their hair length agreed with the hand
labels for a third of the dev faces), so a photo's hair style comes from the macro member's gender
(`infer.pipeline.PHOTO_LOOKS`). What that rule gets wrong is measurable in the photo itself: hair that
hangs beside the face widens the person's silhouette there, short hair does not.

1. The head and shoulders are aligned into a `VIEW_SIDE` px square, `VIEW_EYE_DISTANCES` eye distances
   wide, and MediaPipe's selfie segmentation (a model of real photos, shipped as ONNX by
   `scripts/build_face_models.py`) tells the person from the background.
2. On the row of the mouth, the silhouette is followed from the face's centre line outwards on each
   side until the background; its reach is divided by the reach of the face contour (the 468-point
   mesh's outline) on the same row. Short hair ends the silhouette at the cheek: the man of the
   expression photos reads 0.95-1.04 on both sides, Grace Hopper (cap, short hair) 1.18; long hair
   reads 1.4-4.6 on its wider side on the dev faces. The mouth row stays above collars and shoulders.
3. Long hair is often pushed behind one shoulder, so hair on either side counts (`on_either_side`); its
   absence on both sides is the evidence for a woman's short or tied-back hair. `SIDE_HAIR_REACH` lies
   between the short-haired and long-haired faces above (dev photos and the expression photos; the
   CelebA crops only evaluate it).
4. Light hair: the person's pixels beside and above the face (outside its contour, above the mouth, near
   the head: `HAIR_BESIDE`, `HAIR_ABOVE`) against the face's skin patches in the same view. Both are under
   the same light, so their luminance ratio (`lightness`) is the hair's contrast with the skin, whatever
   the exposure and colour cast. On the dev faces dark hair reads 0.04-0.41, four of the seven light-haired
   faces (light brown or blonde) 0.49-1.27 and the other three 0.09-0.35 (in shadow, or light brown under
   club light); `LIGHT_HAIR` lies between. The CelebA crops only evaluate it.
5. Red hair: the same pixels' ln(R / G) less the skin's (`redness`; red hair is redder than skin, brown and
   blonde hair about as red). Renders of one head in every hair colour on three skins read red 0.70-1.02,
   every other colour -0.44-0.33; `RED_HAIR` lies between, above every dev face (up to 0.29; the dev photos
   hold no redhead).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from f2p_engine.face.detect import Detection
from f2p_engine.face.image import RGBImage

#: Side of the aligned head-and-shoulders view, in pixels: the segmentation model's input.
VIEW_SIDE = 256
#: Width of that view in eye distances, and the eye midpoint's height as a share of it.
VIEW_EYE_DISTANCES = 6.5
VIEW_EYE_HEIGHT = 3.0 / 6.5
#: The face contour of the 468-point mesh (MediaPipe face-mesh indices, polygon order).
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
#: Mesh point at the middle of the upper lip's inner edge: the row measured.
MOUTH = 13
#: A silhouette reaching this many times the face contour's reach beside the face holds hair there.
SIDE_HAIR_REACH = 1.3
#: Person probability above which a pixel is the person.
PERSON = 0.5
#: The hair whose colour is read reaches this many face widths beside the face contour and face heights
#: above it: a neighbour's face in a group photo or a raised hand further out stays out.
HAIR_BESIDE = 0.35
HAIR_ABOVE = 0.5
#: Hair at least this bright against the skin (median luminance ratio, same light) is light: blonde. Set
#: between the dev faces' dark hair (up to 0.41) and their light hair (0.49 and up).
LIGHT_HAIR = 0.45
#: Hair at least this much redder than the skin (ln(R / G) difference) is red: set between renders' red hair
#: and every other hair colour, on light, medium and dark skin.
RED_HAIR = 0.5
#: Fewer hair pixels than this in the view (hair hidden, a cropped photo): the colour is not read.
MIN_HAIR_PIXELS = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class HairReading:
    """`reach`: (image left, image right) reach of the person's silhouette beside the face at the mouth's
    height, as a multiple of the face contour's reach on that row (1.0: it ends at the cheek);
    `lightness`: the hair's median luminance over the skin's, `redness`: its ln(R / G) less the skin's (both
    None when hair or skin was not seen)."""

    reach: tuple[float, float]
    lightness: float | None = None
    redness: float | None = None

    @property
    def on_either_side(self) -> bool:
        return max(self.reach) >= SIDE_HAIR_REACH

    @property
    def light(self) -> bool:
        return self.lightness is not None and self.lightness >= LIGHT_HAIR

    @property
    def red(self) -> bool:
        return self.redness is not None and self.redness >= RED_HAIR


def view_transform(landmarks: np.ndarray) -> np.ndarray:
    """(2, 3) matrix from source pixels to the head-and-shoulders view (eyes level, `VIEW_EYE_DISTANCES` wide)."""
    from f2p_engine.face.align import EYE_TARGETS, alignment_transform

    eye_distance = float(EYE_TARGETS[1, 0] - EYE_TARGETS[0, 0])
    size = VIEW_SIDE / (VIEW_EYE_DISTANCES * eye_distance)
    matrix = alignment_transform(landmarks, size)
    midpoint = EYE_TARGETS.mean(axis=0) * size
    matrix[:, 2] += np.array([0.5, VIEW_EYE_HEIGHT]) * VIEW_SIDE - midpoint
    return matrix


def head_view(image: RGBImage, matrix: np.ndarray) -> np.ndarray:
    """(VIEW_SIDE, VIEW_SIDE, 3) uint8: the head-and-shoulders view of `image` through `matrix`."""
    from f2p_engine.face.warp import warp_face

    return warp_face(image.pixels, matrix, VIEW_SIDE)


def person_mask(image: RGBImage, matrix: np.ndarray, view: np.ndarray) -> np.ndarray:
    """(VIEW_SIDE, VIEW_SIDE) bool: pixels of `view` (`head_view(image, matrix)`) that are the person and
    inside the photo."""
    import cv2

    from f2p_engine.face.align import transform_points
    from f2p_engine.face.facemodels import face_model

    (probability,) = face_model("selfie_segmentation").outputs(view)
    # Outside the photo the view repeats its edge pixels: never the person. The photo's outline in the view
    # is the quadrilateral of its corners.
    height, width = image.pixels.shape[:2]
    corners = transform_points(matrix, np.array([[0, 0], [width, 0], [width, height], [0, height]]) - 0.5)
    inside = np.zeros((VIEW_SIDE, VIEW_SIDE), np.uint8)
    cv2.fillConvexPoly(inside, np.round(corners * 16).astype(np.int32), 1, shift=4)
    return (probability[..., 0] > PERSON) & inside.astype(bool)


def _contour_crossings(outline: np.ndarray, y: float) -> np.ndarray:
    """x of every point where the closed polygon `outline` (N, 2) crosses the row y."""
    start, end = outline, np.roll(outline, -1, axis=0)
    crossing = (start[:, 1] - y) * (end[:, 1] - y) <= 0
    crossing &= start[:, 1] != end[:, 1]
    s, e = start[crossing], end[crossing]
    return s[:, 0] + (y - s[:, 1]) * (e[:, 0] - s[:, 0]) / (e[:, 1] - s[:, 1])


def silhouette_reach(person: np.ndarray, mesh: np.ndarray) -> tuple[float, float] | None:
    """(left, right) reach of the silhouette over the face contour's on the mouth row (view pixels), or
    None when the row is outside the view, the contour does not cross it or the face's centre is not the person."""
    outline = mesh[list(FACE_OVAL)]
    y = round(float(mesh[MOUTH, 1]))
    centre = float(outline[:, 0].mean())
    x = round(centre)
    if not (0 <= y < person.shape[0] and 0 <= x < person.shape[1]) or not person[y, x]:
        return None
    crossings = _contour_crossings(outline, float(y))
    if len(crossings) < 2 or crossings.min() >= centre or crossings.max() <= centre:
        return None
    row = person[y]
    # The first background pixel on each side ends the silhouette (the view's edge ends it too).
    left_gap = np.flatnonzero(~row[:x][::-1])
    right_gap = np.flatnonzero(~row[x + 1:])
    left = float(left_gap[0] if len(left_gap) else x)
    right = float(right_gap[0] if len(right_gap) else len(row) - 1 - x)
    return left / (centre - crossings.min()), right / (crossings.max() - centre)


def hair_against_skin(view: np.ndarray, person: np.ndarray, mesh: np.ndarray) -> tuple[float, float] | None:
    """(lightness, redness) of the hair beside and above the face against the skin patches (steps 4 and 5
    of the module docstring), in `view` with its `person` mask and the (468, 2) `mesh` in view pixels; None
    when too little hair or no skin is seen."""
    import cv2

    from f2p_engine.face.colour import luminance, polygon_mask, skin_colour, srgb_to_linear

    linear = srgb_to_linear(view)
    skin, _ = skin_colour(linear, mesh)
    outline = mesh[list(FACE_OVAL)]
    # The contour's own edge pixels are skin: the face is grown by a few pixels before it is left out.
    face = cv2.dilate(polygon_mask(person.shape, outline).astype(np.uint8), np.ones((7, 7), np.uint8))
    (x0, y0), (x1, y1) = outline.min(axis=0), outline.max(axis=0)
    rows, columns = np.ogrid[:person.shape[0], :person.shape[1]]
    hair = person & ~face.astype(bool) & (rows < mesh[MOUTH, 1]) & (rows > y0 - HAIR_ABOVE * (y1 - y0))
    hair &= (columns > x0 - HAIR_BESIDE * (x1 - x0)) & (columns < x1 + HAIR_BESIDE * (x1 - x0))
    if skin is None or hair.sum() < MIN_HAIR_PIXELS:
        return None
    pixels = linear[hair]
    lightness = np.median(luminance(pixels)) / luminance(skin)
    red, green = np.maximum(np.median(pixels[:, :2], axis=0), 1e-4)
    return float(lightness), float(np.log(red / green) - np.log(max(skin[0], 1e-4) / max(skin[1], 1e-4)))


def read_hair(image: RGBImage, detection: Detection) -> HairReading | None:
    """Hair beside one detected face of `image` (see the module docstring), or None when unmeasurable."""
    from f2p_engine.face.align import transform_points

    matrix = view_transform(detection.landmarks)
    view = head_view(image, matrix)
    person = person_mask(image, matrix, view)
    mesh = transform_points(matrix, detection.mesh[:, :2])
    reach = silhouette_reach(person, mesh)
    if reach is None:
        return None
    colour = hair_against_skin(view, person, mesh)
    lightness, redness = (None, None) if colour is None else (round(colour[0], 3), round(colour[1], 3))
    return HairReading(reach=(round(float(reach[0]), 3), round(float(reach[1]), 3)), lightness=lightness,
                       redness=redness)
