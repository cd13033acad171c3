"""Face stage: photo -> detection, 68 landmarks, alignment, region crops, identity embedding.

Modules: `image` (files and arrays -> `RGBImage`), `detect` (`RGBImage` -> `Detection`s), `align`
(landmarks -> transform and crop boxes), `aligned` (`RGBImage` -> `AlignedFace`), `identity`
(descriptor, cosine distance), `frames` (camera / video / generated frame sources).
The alignment and crop-box functions in `align` are shared with the synthetic factory, so
synthetic samples and real photos are normalised by the very same code.
"""
