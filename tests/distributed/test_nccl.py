"""The NCCL backend with one rank on one GPU (NCCL allows one rank per GPU; several GPUs are not in CI).

Runs the backend's collectives directly: a world of one skips communication in the public functions.
"""
import ember as em
import numpy as np
import pytest

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not em.cuda.is_available(), reason="needs a usable CUDA GPU and CuPy")]


def test_nccl_collectives_on_one_gpu():
    pytest.importorskip("mpi4py")
    import ember.distributed as dist
    from ember.distributed import ReduceOp
    dist.init_process_group("nccl", timeout=60)
    try:
        backend = dist.default_group().backend
        a = np.arange(12, dtype=np.float32).reshape(3, 4)
        for op in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX, ReduceOp.MIN):
            t = em.tensor(a, device="cuda")
            backend.all_reduce(t, op).wait()
            np.testing.assert_array_equal(t.numpy(), a)
        view = em.tensor(a, device="cuda").T
        backend.all_reduce(view, ReduceOp.SUM).wait()
        np.testing.assert_array_equal(view.numpy(), a.T)
        t = em.tensor(a.astype(np.int64), device="cuda")
        backend.broadcast(t, 0).wait()
        np.testing.assert_array_equal(t.numpy(), a)
        parts = [em.zeros((3, 4), device="cuda")]
        backend.all_gather(parts, em.tensor(a, device="cuda")).wait()
        np.testing.assert_array_equal(parts[0].numpy(), a)
        out = em.zeros((3, 4), device="cuda")
        backend.reduce_scatter(out, [em.tensor(a, device="cuda")], ReduceOp.SUM).wait()
        np.testing.assert_array_equal(out.numpy(), a)
        backend.barrier().wait()
        model = em.nn.parallel.DistributedDataParallel(em.nn.Linear(4, 2).to("cuda"))
        model(em.tensor(a, device="cuda")).sum().backward()
        assert model.module.weight.grad.device == "cuda"
    finally:
        dist.destroy_process_group()
