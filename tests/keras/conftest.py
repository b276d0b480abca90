import pytest

import ember as em

from ..devices import DEVICES


@pytest.fixture(params=DEVICES)
def device(request):
    """Builds the test's keras layers on each device (the default device), then restores the default."""
    before = em.get_default_device()
    em.set_default_device(request.param)
    yield request.param
    em.set_default_device(before)


@pytest.fixture(autouse=True)
def seeded():
    em.manual_seed(0)
