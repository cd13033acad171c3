"""Shared fixtures: the real head asset and model, loaded once per test session. The session's f2p cache
(hashes, optimised ONNX graphs) is a folder of its own, for the commands the tests start too: tests leave
nothing in the user's cache."""

import atexit
import os
import shutil
import tempfile

import pytest

from f2p_engine.headmodel.asset import default_asset
from f2p_engine.headmodel.mesh import HeadModel

if "F2P_CACHE" not in os.environ:
    os.environ["F2P_CACHE"] = _CACHE = tempfile.mkdtemp(prefix="f2p-test-cache-")
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def asset():
    return default_asset()


@pytest.fixture(scope="session")
def head_model(asset):
    return HeadModel(asset)
