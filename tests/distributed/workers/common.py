"""Shared by the worker scripts: start the group, compare arrays, say OK."""
import os
import sys

import ember.distributed as dist
import numpy as np


def start(timeout=60):
    dist.init_process_group("mpi", timeout=timeout)
    return dist.get_rank(), dist.get_world_size()


def same_on_all_ranks(a, what):
    """a (a NumPy array) is bit-identical on every rank."""
    everyone = dist.default_group().comm.allgather(np.asarray(a))
    for r, b in enumerate(everyone):
        if not np.array_equal(b, everyone[0]):
            raise AssertionError(f"{what}: rank {r} differs from rank 0 by {np.abs(b - everyone[0]).max()}")


def close(a, b, what, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def ok(name):
    """One line in one write, so two ranks' lines do not interleave."""
    sys.stdout.flush()
    os.write(sys.stdout.fileno(), f"OK {name} rank {dist.get_rank()}\n".encode())
