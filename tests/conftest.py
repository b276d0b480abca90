import importlib
import os

import numpy as np
import pytest


@pytest.fixture(scope="session")
def cpu_kernels():
    """The compiled CPU kernel module (EMBER_CPU_MODULE overrides, for out-of-tree builds)."""
    return importlib.import_module(os.environ.get("EMBER_CPU_MODULE", "ember._cpu"))


ISA_LEVELS = ["generic", "avx2", "avx512"]


@pytest.fixture(params=ISA_LEVELS)
def isa(request, cpu_kernels):
    """Caps the CPU kernels at one ISA level for the test (skips levels this CPU lacks), then restores it."""
    before = cpu_kernels.isa()
    if cpu_kernels.set_isa(request.param) != request.param:
        cpu_kernels.set_isa(before)
        pytest.skip(f"CPU lacks {request.param}")
    yield request.param
    cpu_kernels.set_isa(before)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
