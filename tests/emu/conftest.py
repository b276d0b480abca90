import importlib
import os

import pytest

SCHEDULES = ["forward", "reverse"] + [f"random:{seed}" for seed in range(1, 6)]


@pytest.fixture(scope="session")
def emu():
    """ember._emu_selftest (EMBER_EMU_SELFTEST_MODULE overrides, for out-of-tree builds)."""
    name = os.environ.get("EMBER_EMU_SELFTEST_MODULE", "ember._emu_selftest")
    try:
        return importlib.import_module(name)
    except ImportError as e:
        pytest.skip(f"{name} is not built (configure with -DEMBER_CUDA_EMU=ON): {e}")


@pytest.fixture
def controls(emu):
    """Restores the emulator's schedule and check switches after a test."""
    yield emu
    emu.set_schedule("")
    emu.set_check("")
