"""The parts of ember.distributed that need no second process: Work's timeout, argument checks,
and what DistributedDataParallel and SyncBatchNorm do without a process group."""
import time

import ember as em
import ember.distributed as dist
import numpy as np
import pytest
from ember import nn
from ember.distributed.work import Work


def test_work_raises_after_its_timeout_and_finishes_later():
    done_at = time.monotonic() + 0.2
    finished = []
    work = Work(lambda: time.monotonic() > done_at, 0.05, "all_reduce (rank 0 of 2)", lambda: finished.append(1))
    with pytest.raises(dist.DistTimeoutError, match="all_reduce.*0.05 s"):
        work.wait()
    assert not finished
    assert work.wait(timeout=5) and finished == [1] and work.is_completed()
    work.wait()
    assert finished == [1]  # the completion runs once


def test_reduce_op_checks():
    from ember.distributed.ops import check_op
    assert check_op("avg", np.dtype(np.float32), "x") is dist.ReduceOp.AVG
    with pytest.raises(ValueError, match="unknown op"):
        check_op("mean", np.dtype(np.float32), "x")
    with pytest.raises(TypeError, match="AVG needs a floating"):
        check_op(dist.ReduceOp.AVG, np.dtype(np.int64), "x")


def test_without_a_process_group():
    assert not dist.is_initialized() and dist.is_main_process()
    with pytest.raises(RuntimeError, match="not initialized"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="not initialized"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="unknown backend"):
        dist.init_process_group("gloo")


def test_sync_batchnorm_is_batchnorm_outside_a_group():
    em.manual_seed(0)
    bn = nn.BatchNorm2d(3)
    seq = nn.Sequential(nn.Conv2d(1, 3, 3), bn)
    conv = nn.SyncBatchNorm.convert_sync_batchnorm(seq)
    assert conv is seq and isinstance(seq[1], nn.SyncBatchNorm) and seq[1].weight is bn.weight
    x = em.randn(4, 3, 5, 5)
    ref = nn.BatchNorm2d(3)
    np.testing.assert_allclose(seq[1](x).numpy(), ref(x).numpy(), rtol=1e-6, atol=1e-6)
    assert isinstance(nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(2)), nn.SyncBatchNorm)


def test_queue_callback_runs_once_at_the_end_of_backward():
    from ember import autograd
    x = em.randn(3, requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: autograd.queue_callback(lambda: seen.append(t.grad.numpy())))
    (x * 2).sum().backward()
    assert len(seen) == 1 and np.array_equal(seen[0], np.full(3, 2.0, np.float32))
    assert not autograd._final_callbacks


def test_a_parameter_grad_is_accumulated_right_after_its_last_use():
    """DDP overlaps only if the last layer's gradients are ready before the first layer's are computed."""
    em.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
    order = []
    for name, p in model.named_parameters():
        p.register_post_accumulate_grad_hook(lambda t, n=name: order.append(n))
    model(em.randn(2, 4)).sum().backward()
    assert order.index("4.weight") < order.index("2.weight") < order.index("0.weight"), order


def test_checkpoint_restore_needs_the_optimizer_state(tmp_path):
    from ember.train import ModelCheckpoint
    em.manual_seed(0)
    model = nn.Linear(3, 2)
    model.compile(optimizer="adam", loss="mse")
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "w.safetensors"),
                                                     ModelCheckpoint(tmp_path / "full.safetensors",
                                                                     save_optimizer=True)])
    with pytest.raises(ValueError, match="save_optimizer=True"):
        ModelCheckpoint.restore(model, tmp_path / "w.safetensors")
    before = model.weight.numpy().copy()
    model.fit(x, y, epochs=1, verbose=0)
    assert ModelCheckpoint.restore(model, tmp_path / "full.safetensors") == 1
    np.testing.assert_array_equal(model.weight.numpy(), before)
