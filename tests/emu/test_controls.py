"""Schedules change the answer of a racy kernel; the switches are validated and
can be set from the environment or from Python."""

import numpy as np
import pytest


def run_raw_race(emu):
    x = np.arange(1, 65, dtype=np.float32)
    out = np.zeros(64, np.float32)
    emu.run("raw_race", [x, out], block=64)
    return out


def test_missing_barrier_gives_a_schedule_dependent_answer(controls):
    controls.set_check(False)
    controls.set_schedule("forward")
    fwd = run_raw_race(controls)
    controls.set_schedule("reverse")
    rev = run_raw_race(controls)
    # Forward order hides the missing __syncthreads; reverse reads poison (NaN).
    np.testing.assert_array_equal(fwd[1:], np.arange(1, 64, dtype=np.float32))
    assert np.isnan(rev[1:]).all()


def test_random_schedules_are_deterministic_per_seed(controls):
    controls.set_check(False)
    controls.set_schedule("random:7")
    a = run_raw_race(controls)
    b = run_raw_race(controls)
    np.testing.assert_array_equal(a, b)


def test_switch_values(controls):
    controls.set_schedule("random:42")
    assert controls.get_schedule() == "random:42"
    controls.set_check(True)
    assert controls.get_check()
    for bad in ["sideways", "random:x", "random:"]:
        with pytest.raises(ValueError, match="schedule"):
            controls.set_schedule(bad)
    with pytest.raises(ValueError):
        controls.set_check("maybe")


def test_environment_is_read_at_each_launch(controls, monkeypatch):
    controls.set_schedule("")
    controls.set_check("")
    monkeypatch.setenv("EMBER_EMU_SCHEDULE", "reverse")
    monkeypatch.setenv("EMBER_EMU_CHECK", "1")
    assert controls.get_schedule() == "reverse" and controls.get_check()
    with pytest.raises(RuntimeError, match="shared-memory race|uninitialised"):
        run_raw_race(controls)
    monkeypatch.setenv("EMBER_EMU_SCHEDULE", "bogus")
    with pytest.raises(ValueError, match="EMBER_EMU_SCHEDULE"):
        run_raw_race(controls)


def test_barrier_free_threads_switch_once(controls):
    controls.set_check(False)
    before = controls.emu_stats()
    out = np.zeros(64, np.float32)
    controls.run("ids", [out.view(np.int32)], grid=2, block=32)
    after = controls.emu_stats()
    assert after["threads"] - before["threads"] == 64
    assert after["switches"] - before["switches"] == 64  # one switch in per thread, no barrier


def test_unknown_kernel_and_bad_arrays(controls):
    with pytest.raises(KeyError):
        controls.run("no_such_kernel", [])
    with pytest.raises(ValueError, match="C-contiguous"):
        controls.run("ids", [np.zeros((4, 4), np.int32).T])
