"""Shared fixtures: the real head asset and model, loaded once per test session."""

import pytest

from f2p_engine.headmodel.asset import default_asset
from f2p_engine.headmodel.mesh import HeadModel


@pytest.fixture(scope="session")
def asset():
    return default_asset()


@pytest.fixture(scope="session")
def head_model(asset):
    return HeadModel(asset)
