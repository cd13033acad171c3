"""Face stage: photo -> detection, 68 landmarks, alignment, region crops, identity embedding.

The alignment and crop-box functions in `align` are shared with the synthetic factory, so
synthetic samples and real photos are normalised by the very same code.
"""
