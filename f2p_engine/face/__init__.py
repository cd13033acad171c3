"""Face stage: photo -> detection, 468-point mesh and 68 landmarks, alignment, region crops, identity.

Modules, in the order data travels: `image` (files and arrays -> `RGBImage`), `facemodels` (the
shipped MediaPipe models, sha256-checked), `facedetect` (`RGBImage` -> face boxes), `facemesh` (box ->
468 points), `mesh68` (468 -> 68 points), `detect` (`RGBImage` -> `Detection`s), `align` (landmarks
-> transform and crop boxes), `warp` (transform -> pixels), `aligned` (`RGBImage` -> `AlignedFace`),
`identity` (descriptor, cosine distance), `frames` (camera / video / generated frame sources).
The alignment and crop-box functions in `align` are shared with the synthetic factory, so
synthetic samples and real photos are normalised by the very same code.
"""
