"""The planted-bug suite: every `// BUG: <case> <kind>` line in tests/emu/kernels
must be reported, by kind and file:line, when its case runs with the checks on, under
whichever schedule EMBER_EMU_SCHEDULE names (CI runs this suite under a random one too)."""
import pathlib
import re

import numpy as np
import pytest

from conftest import SCHEDULES

KERNELS = pathlib.Path(__file__).parent / "kernels"
MARKER = re.compile(r"//\s*BUG:\s*(\w+)\s+(.+?)\s*$")
RACE = "shared-memory race"
# A schedule may run the reader of a race before its writer, so the same bug can show
# as a read of a byte that no thread has written yet.
SCHEDULE_KINDS = {RACE: (RACE, "uninitialised shared read")}


def markers():
    """case -> (file name, marked line numbers, kind); a case marks one or more lines of one file."""
    found = {}
    for path in sorted(KERNELS.glob("*.cu")):
        for lineno, line in enumerate(path.read_text().splitlines(), start=1):
            m = MARKER.search(line)
            if m:
                case, kind = m.groups()
                fname, lines, first_kind = found.get(case, (path.name, (), kind))
                assert (fname, first_kind) == (path.name, kind), f"planted bug {case} marked twice differently"
                found[case] = (fname, lines + (lineno,), kind)
    return found


def assert_reported(msg, fname, lines, kind):
    """The report says one of the kinds `kind` may show as, and names one of the marked lines."""
    assert any(k in msg for k in SCHEDULE_KINDS.get(kind, (kind,))), msg
    assert any(f"{fname}:{line}" in msg for line in lines), msg


def f32(n, start=1.0):
    return np.arange(start, start + n, dtype=np.float32)


def zeros(n, dtype=np.float32):
    return np.zeros(n, dtype=dtype)


# case -> (arrays, kwargs for run)
CASES = {
    "raw_race": lambda: ([f32(64), zeros(64)], {}),
    "war_race": lambda: ([f32(128), zeros(64)], {}),
    "waw_race": lambda: ([zeros(64)], {}),
    "reduce_nosync": lambda: ([f32(64), zeros(1)], {}),
    "reduce_npot": lambda: ([f32(48), zeros(1)], {}),
    "shared_oob_after": lambda: ([f32(32), zeros(32)], {}),
    "shared_oob_before": lambda: ([f32(32), zeros(32)], {}),
    "dyn_too_small": lambda: ([f32(32), zeros(32)], {}),
    "dyn_uninit": lambda: ([f32(32), zeros(32)], {}),
    "uninit_scalar": lambda: ([zeros(32)], {}),
    "atomic_then_read": lambda: ([zeros(1, np.int32)], {}),
    "warp_exchange_nosync": lambda: ([f32(32), zeros(32)], {}),
    "matmul_one_sync": lambda: ([f32(256), f32(256), zeros(256)], {"ints": [16]}),
    "shared_atomic_oob": lambda: ([np.r_[np.arange(31), 16].astype(np.int32), zeros(16, np.int32)], {}),
    "barrier_in_if": lambda: ([zeros(32)], {}),
    "barrier_after_return": lambda: ([f32(100), zeros(100)], {"ints": [100]}),
    "barrier_if_else": lambda: ([zeros(32)], {}),
    "barrier_loop": lambda: ([f32(40), zeros(32)], {"ints": [40]}),
    "shfl_mask": lambda: ([f32(32), zeros(32)], {}),
    "ballot_mask": lambda: ([f32(32), zeros(32, np.uint32)], {}),
    "syncwarp_mask": lambda: ([zeros(32)], {}),
    "shfl_divergent": lambda: ([f32(32), zeros(32)], {}),
    "shfl_exited": lambda: ([f32(32), zeros(32)], {}),
    "shfl_width": lambda: ([f32(32), zeros(32)], {}),
    "global_oob_read": lambda: ([f32(50), zeros(50)], {"ints": [50]}),
    "global_oob_write": lambda: ([f32(50), zeros(50)], {"ints": [50]}),
    "global_oob_before": lambda: ([f32(50), zeros(50)], {"ints": [50]}),
    "global_atomic_oob": lambda: ([np.r_[np.arange(40) % 8, 8].astype(np.int32), zeros(8, np.int32)], {"ints": [41]}),
    "trap": lambda: ([np.r_[f32(20), -1.0, f32(11)].astype(np.float32)], {}),
    "too_much_smem": lambda: ([f32(32), zeros(32)], {}),
    "bad_block": lambda: ([f32(32), zeros(32)], {}),
}

# Reported whatever EMBER_EMU_CHECK says: barrier, warp-op and launch checks are always on.
ALWAYS_ON = {
    "barrier_in_if", "barrier_after_return", "barrier_if_else", "barrier_loop", "shfl_mask", "ballot_mask",
    "syncwarp_mask", "shfl_divergent", "shfl_width", "trap", "too_much_smem", "bad_block",
}


def test_every_marker_has_a_case_and_there_are_at_least_20():
    found = markers()
    assert set(found) == set(CASES)
    assert len(found) >= 20


@pytest.mark.parametrize("case", sorted(CASES))
def test_planted_bug_is_reported_with_file_and_line(controls, case):
    emu = controls
    fname, lines, kind = markers()[case]
    emu.set_check(True)
    arrays, kwargs = CASES[case]()
    with pytest.raises(RuntimeError) as info:
        emu.run(case, arrays, **kwargs)
    assert_reported(str(info.value), fname, lines, kind)


@pytest.mark.parametrize("case", sorted(ALWAYS_ON))
def test_control_flow_bugs_need_no_memory_checks(controls, case):
    emu = controls
    fname, lines, kind = markers()[case]
    emu.set_check(False)
    arrays, kwargs = CASES[case]()
    with pytest.raises(RuntimeError) as info:
        emu.run(case, arrays, **kwargs)
    assert_reported(str(info.value), fname, lines, kind)


def test_report_names_kernel_block_and_thread(controls):
    emu = controls
    emu.set_check(True)
    with pytest.raises(RuntimeError) as info:
        emu.run("global_oob_read", [f32(50), zeros(50)], ints=[50])
    msg = str(info.value)
    # The first failing block is reported: block 1, whose threads 18..31 read x[50..63]; the
    # schedule decides which of them runs first, and the offset reported is that thread's.
    assert "global_oob_read_kernel" in msg and "block (1,0,0)" in msg, msg
    m = re.search(r"thread \((\d+),0,0\).*?(\d+) bytes after the end of 'arg0' \(200 bytes\)", msg, re.S)
    assert m, msg
    thread, past_end = map(int, m.groups())
    assert 18 <= thread < 32 and past_end == 4 * (32 + thread - 50), msg


RACE_CASES = sorted(case for case, (_, _, kind) in markers().items() if kind == RACE)


@pytest.mark.parametrize("case", RACE_CASES)
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_races_are_reported_under_every_schedule(controls, case, schedule):
    emu = controls
    emu.set_check(True)
    emu.set_schedule(schedule)
    fname, lines, kind = markers()[case]
    arrays, kwargs = CASES[case]()
    with pytest.raises(RuntimeError) as info:
        emu.run(case, arrays, **kwargs)
    assert_reported(str(info.value), fname, lines, kind)
