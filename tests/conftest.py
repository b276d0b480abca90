import numpy as np
import pytest

from ember.backends import DEVICES as KNOWN_DEVICES

from .devices import kernel_module, require


def pytest_runtest_setup(item):
    """A test marked `cuda`, or parametrized by a known `device`, needs that device (see devices.require)."""
    if item.get_closest_marker("cuda"):
        require("cuda")
    callspec = getattr(item, "callspec", None)
    device = callspec.params.get("device") if callspec else None
    if isinstance(device, str) and device in KNOWN_DEVICES:
        require(device)


@pytest.fixture(scope="session")
def cpu_kernels():
    """The compiled CPU kernel module (EMBER_CPU_MODULE overrides, for out-of-tree builds)."""
    return kernel_module("EMBER_CPU_MODULE", "ember._cpu")


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


@pytest.fixture(params=[1, 2])
def threads(request):
    """Runs the test with ember on 1 and on 2 OpenMP threads, then restores the count."""
    import ember as em
    before = em.get_num_threads()
    em.set_num_threads(request.param)
    yield request.param
    em.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
