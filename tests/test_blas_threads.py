"""Small products run on one BLAS thread, and only while they run (headmodel.threads)."""

import threading

from threadpoolctl import threadpool_info, threadpool_limits

from f2p_engine.headmodel.mesh import HeadModel, default_modifiers
from f2p_engine.headmodel.threads import single_threaded_blas


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_limit_holds_inside_and_is_restored_after():
    with threadpool_limits(limits=2, user_api="blas"):
        with single_threaded_blas():
            assert _blas_threads() == {1}
            with single_threaded_blas():  # nested: the inner exit must not lift the outer limit
                pass
            assert _blas_threads() == {1}
        assert _blas_threads() == {2}


def test_overlapping_threads_restore_the_limit_once_both_leave():
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with single_threaded_blas():
            inside.set()
            release.wait(10)

    with threadpool_limits(limits=2, user_api="blas"):
        other = threading.Thread(target=hold)
        other.start()
        inside.wait(10)
        with single_threaded_blas():
            pass
        assert _blas_threads() == {1}  # the other thread is still inside its block
        release.set()
        other.join()
        assert _blas_threads() == {2}


def test_head_vertices_run_with_one_blas_thread_off_the_main_thread():
    # The studio evaluates meshes in a worker thread after the main thread has touched the limits.
    model = HeadModel()
    seen = []
    original = model.weight_vectors

    def spy(modifiers):  # runs inside `vertices`, so it sees the limit in force there
        seen.append(_blas_threads())
        return original(modifiers)

    model.weight_vectors = spy
    with threadpool_limits(limits=2, user_api="blas"):
        worker = threading.Thread(target=model.vertices, args=(default_modifiers(),))
        worker.start()
        worker.join()
        assert _blas_threads() == {2}
    assert seen == [{1}]
