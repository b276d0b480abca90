"""DataLoader(num_workers=2): the same batches in the same order as num_workers=0 (and as PyTorch),
really in parallel, worker exceptions re-raised with their traceback, no process left behind
(after the end, a break, a dropped iterator, an exception, a timeout, a dead worker), persistent
workers, worker_init_fn, per-worker seeds, IterableDataset split with get_worker_info()."""
import gc
import multiprocessing as mp

import numpy as np
import pytest

import ember as em
from ember.data import DataLoader, TensorDataset

from . import samples
from .plain import flat


def _assert_no_workers():
    assert [p for p in mp.active_children() if p.name.startswith("ember-DataLoader")] == []


@pytest.fixture(autouse=True)
def no_leaks():
    yield
    gc.collect()
    _assert_no_workers()


@pytest.mark.parametrize("kwargs", [dict(batch_size=3), dict(batch_size=3, shuffle=True, drop_last=True),
                                    dict(batch_size=None)], ids=["batches", "shuffled", "samples"])
def test_same_batches_as_in_process(kwargs):
    ds = samples.Items(slow_first=0.3)
    want = flat(DataLoader(ds, generator=np.random.default_rng(0), **kwargs))
    got = flat(DataLoader(ds, num_workers=2, generator=np.random.default_rng(0), **kwargs))
    assert got == want


def test_tensor_dataset_through_workers():
    x, y = em.randn(10, 3), em.arange(10)
    want = flat(DataLoader(TensorDataset(x, y), batch_size=4))
    loader = DataLoader(TensorDataset(x, y), batch_size=4, num_workers=2, prefetch_factor=1)
    assert flat(loader) == want
    xb, _ = next(iter(loader))
    assert isinstance(xb, em.Tensor) and xb.device == em.get_default_device()


def test_same_batches_as_torch():
    torch_data = pytest.importorskip("torch.utils.data")
    ds = samples.Items(n=7)
    assert flat(DataLoader(ds, batch_size=2, num_workers=2)) == flat(torch_data.DataLoader(ds, batch_size=2))


def test_workers_run_in_parallel():
    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    barrier = ctx.Barrier(2)  # samples 0 and 1 (in different workers' batches) must load at the same time
    loader = DataLoader(samples.Meet(barrier), batch_size=1, num_workers=2, multiprocessing_context=ctx)
    assert [b.tolist() for b in loader] == [[0], [1], [2], [3]]


def test_worker_exception_is_raised_with_its_traceback():
    loader = DataLoader(samples.Items(fail_at=5), batch_size=2, num_workers=2)
    seen = []
    with pytest.raises(ValueError, match="sample 5 is broken") as e:
        for _, i, _ in loader:
            seen += i.tolist()
    assert seen == [0, 1, 2, 3]
    text = str(e.value)
    assert "Caught ValueError in DataLoader worker process 0" in text
    assert "Original Traceback" in text and "samples.py" in text and "__getitem__" in text


def test_break_and_dropped_iterators_stop_the_workers():
    loader = DataLoader(samples.Items(), batch_size=2, num_workers=2)
    for _ in loader:
        break
    gc.collect()
    _assert_no_workers()
    it = iter(loader)
    next(it)
    pids = [p.pid for p in it.workers.procs]
    del it
    _assert_no_workers()
    assert len(pids) == 2


def test_exception_in_the_loop_body_stops_the_workers():
    with pytest.raises(KeyError):
        for _ in DataLoader(samples.Items(), batch_size=2, num_workers=2):
            raise KeyError("user code")


def test_timeout_and_dead_worker_raise():
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        next(iter(DataLoader(samples.Sleepy(), num_workers=2, timeout=0.5)))
    with pytest.raises(RuntimeError, match="exited unexpectedly.*exit code 3"):
        next(iter(DataLoader(samples.Dies(), num_workers=2)))


def test_unpicklable_collate_fn_is_explained():
    with pytest.raises(Exception) as e:
        iter(DataLoader(samples.Items(), num_workers=2, collate_fn=lambda b: b))
    assert "picklable" in "".join(getattr(e.value, "__notes__", []))


def test_worker_info_init_fn_and_seeds():
    loader = DataLoader(samples.WhoLoads(), batch_size=None, num_workers=2, worker_init_fn=samples.record_init,
                        generator=np.random.default_rng(1))
    rows = [tuple(r) for r in loader]
    assert [r[0] for r in rows] == list(range(8))
    assert [r[1] for r in rows] == [0, 1] * 4 and [r[2] for r in rows] == [0, 1] * 4
    assert len({r[3] for r in rows}) == 8 and len({r[4] for r in rows}) == 8  # workers draw different numbers
    again = [tuple(r) for r in DataLoader(samples.WhoLoads(), batch_size=None, num_workers=2,
                                          worker_init_fn=samples.record_init, generator=np.random.default_rng(1))]
    assert [r[3:5] for r in again] == [r[3:5] for r in rows]  # seeded by the loader's generator
    assert samples.WhoLoads()[0][1:3] == (-1, -1)  # get_worker_info() is None in the main process


def test_persistent_workers_are_kept_and_a_break_leaves_no_stale_batch():
    loader = DataLoader(samples.WhoLoads(), batch_size=2, num_workers=2, persistent_workers=True)
    first = next(iter(loader))  # a break: the other prefetched batches are still coming
    pids = set(first[5].tolist())
    epoch = list(loader)
    assert [b[0].tolist() for b in epoch] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert {p for b in epoch for p in b[5].tolist()} == {p.pid for p in loader._iterator.workers.procs} >= pids
    assert [b[0].tolist() for b in loader] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    del loader


@pytest.mark.parametrize("shard", [True, False])
def test_iterable_dataset_as_torch(shard):
    torch_data = pytest.importorskip("torch.utils.data")

    class TorchStream(torch_data.IterableDataset):  # samples.Stream with PyTorch's get_worker_info
        def __iter__(self):
            info = torch_data.get_worker_info()
            return iter(range(7) if info is None or not shard else range(info.id, 7, info.num_workers))

    ds = samples.Stream(n=7, shard=shard)
    for drop_last in (False, True):
        want = flat(torch_data.DataLoader(TorchStream(), batch_size=2, num_workers=2, drop_last=drop_last))
        assert flat(DataLoader(ds, batch_size=2, num_workers=2, drop_last=drop_last)) == want


@pytest.mark.parametrize("kind, exc, text", [
    ("KeyError", KeyError, "Caught KeyError in DataLoader worker process 0.\nOriginal Traceback"),
    ("TwoArgs", RuntimeError, "Caught TwoArgs"),  # an exception type that one message cannot build
    ("lambda", Exception, "in DataLoader worker process 0"),  # a batch that cannot be pickled
])
def test_every_kind_of_worker_failure_is_raised(kind, exc, text):
    with pytest.raises(exc) as e:
        next(iter(DataLoader(samples.Raises(kind), batch_size=2, num_workers=2, collate_fn=samples.keep)))
    assert text in (e.value.args[0] if kind == "KeyError" else str(e.value))


def test_worker_init_fn_failure_is_raised():
    with pytest.raises(OSError, match="(?s)Original Traceback.*failing_init.*worker 0 cannot open its shard"):
        list(DataLoader(samples.Items(), num_workers=2, worker_init_fn=samples.failing_init))


def test_persistent_workers_restart_an_iterable_dataset():
    loader = DataLoader(samples.Stream(n=5), batch_size=2, num_workers=2, persistent_workers=True)
    first, second = flat(loader), flat(loader)
    assert first == second == flat(DataLoader(samples.Stream(n=5), batch_size=2, num_workers=2))
    del loader


_ORPHAN = """
import os, sys, time
import ember as em
from ember.data import DataLoader, TensorDataset
if __name__ == "__main__":
    it = iter(DataLoader(TensorDataset(em.arange(100)), batch_size=2, num_workers=2))
    next(it)
    print(" ".join(str(p.pid) for p in it.workers.procs), flush=True)
    time.sleep(600)
"""


def test_workers_leave_when_the_parent_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    script = tmp_path / "orphan.py"
    script.write_text(_ORPHAN)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.path.join(root, "python"))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()

    def running(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    deadline = time.monotonic() + 60
    while any(running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(running(p) for p in pids), "orphaned DataLoader workers are still running"


def test_worker_init_fn_configures_the_dataset_copy_before_iteration():
    loader = DataLoader(samples.Span(3, 10), batch_size=2, num_workers=2, worker_init_fn=samples.split_span)
    assert [b.tolist() for b in loader] == [[3, 4], [7, 8], [5, 6], [9]]  # worker 0: 3..6, worker 1: 7..9


@pytest.mark.parametrize("num_workers", [0, 2])
def test_stop_iteration_from_a_map_style_dataset_is_an_error(num_workers):
    with pytest.raises(RuntimeError, match="StopIteration"):
        list(DataLoader(samples.Stops(), batch_size=2, num_workers=num_workers))


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_other_start_methods(method):
    ds = samples.Items(n=5)
    want = flat(DataLoader(ds, batch_size=2))
    assert flat(DataLoader(ds, batch_size=2, num_workers=2, multiprocessing_context=method)) == want
