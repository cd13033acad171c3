"""Ray (optional extra `cluster`): batch prediction spread over a Ray cluster.

One actor per CPU of the cluster loads the models once (`batch.init_worker`) and predicts photos
sent to it, writing each photo's outputs itself (`batch.predict_job`): the photos, the model folder
and the output folder must be at the same paths on every node (shared storage). The driver writes
the report as results come back, exactly as for local workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from f2p_engine.infer.batch import BatchRunner, BatchSettings, PhotoJob, PhotoResult, init_worker, worker_job
from f2p_engine.synth.cluster import check_cluster, ray_session


class PhotoWorker:
    """A Ray actor's body: the batch's settings and models loaded once, then one photo per call."""

    def __init__(self, settings: BatchSettings) -> None:
        init_worker(settings)

    def predict(self, job: PhotoJob) -> PhotoResult:
        return worker_job(job)


def ray_batch_runner(address: str | None) -> BatchRunner:
    """A `batch.predict_batch` runner on the Ray cluster at `address` (None: a local Ray).
    InputError at once when Ray is missing or `address` cannot be reached."""
    check_cluster(address)

    def run(jobs: Sequence[PhotoJob], settings: BatchSettings) -> Iterator[PhotoResult]:
        with ray_session(address) as ray:
            from ray.util import ActorPool

            actor = ray.remote(num_cpus=1)(PhotoWorker)
            count = max(1, min(len(jobs), int(ray.cluster_resources().get("CPU", 1))))
            shared = ray.put(settings)  # stored once in the object store, not sent with each photo
            pool = ActorPool([actor.remote(shared) for _ in range(count)])
            yield from pool.map_unordered(lambda worker, job: worker.predict.remote(job), jobs)

    return run
