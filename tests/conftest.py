import importlib
import os

import numpy as np
import pytest


@pytest.fixture(scope="session")
def cpu_kernels():
    """The compiled CPU kernel module (EMBER_CPU_MODULE overrides, for out-of-tree builds)."""
    return importlib.import_module(os.environ.get("EMBER_CPU_MODULE", "ember._cpu"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)
