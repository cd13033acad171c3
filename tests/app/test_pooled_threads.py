"""The identity descriptor from Qt's pooled worker threads (the studio's superqt workers).

A pooled thread gets a fresh Python thread state for every job on the same OS thread; dlib's
bindings (the descriptor's former run time) re-acquired the GIL with the first job's freed state and
hung in the second job. Kept as a guard for whatever runs the network. Run in a fresh interpreter,
so that nothing has used the network from the main thread first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import threading
import numpy as np
from PySide6.QtCore import QCoreApplication, QRunnable, QThreadPool
from skimage import data
from f2p_engine.face.identity import face_descriptor

app = QCoreApplication([])
image = data.astronaut()
landmarks = np.array([[200 + 3 * (k % 17), 120 + 2 * k] for k in range(68)], float)
done = threading.Event()
results = []

class Job(QRunnable):
    def run(self):
        results.append(face_descriptor(image, landmarks))
        done.set()

pool = QThreadPool()
pool.setMaxThreadCount(1)  # every job on the same OS thread
for _ in range(3):
    done.clear()
    pool.start(Job())
    assert done.wait(30), "descriptor job hung"
    # Threads come and go, so the next job's thread state lands at another address.
    for _ in range(3):
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
assert len(results) == 3 and np.allclose(results[0], results[2])
print("3 jobs")
"""


def test_descriptors_in_consecutive_pooled_jobs_do_not_hang():
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=90, cwd=root,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "3 jobs"
