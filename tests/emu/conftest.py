import pytest

from tests.devices import kernel_module

SCHEDULES = ["forward", "reverse"] + [f"random:{seed}" for seed in range(1, 6)]


@pytest.fixture(scope="session")
def emu():
    """ember._emu_selftest (EMBER_EMU_SELFTEST_MODULE overrides, for out-of-tree builds)."""
    return kernel_module("EMBER_EMU_SELFTEST_MODULE", "ember._emu_selftest")


@pytest.fixture
def controls(emu):
    """Restores the emulator's schedule and check switches after a test."""
    yield emu
    emu.set_schedule("")
    emu.set_check("")
