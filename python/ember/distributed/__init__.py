"""ember.distributed: processes that train together, over MPI (mpi4py) or NCCL (CuPy), PyTorch's names.

    # mpiexec -n 4 python train.py      (or: ember train ... --nproc 4)
    import ember.distributed as dist
    dist.init_process_group()          # NCCL when every rank has a GPU, else MPI
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    model = ember.nn.parallel.DistributedDataParallel(model)
"""
from .collectives import all_gather, all_reduce, barrier, broadcast, host_all_reduce, reduce_scatter
from .ops import ReduceOp
from .process_group import (default_group, destroy_process_group, get_backend, get_local_rank, get_rank,
                            get_world_size, init_process_group, is_available, is_initialized, is_main_process,
                            launched_by_mpi, mpiexec_path)
from .work import DistTimeoutError, Work

__all__ = ["DistTimeoutError", "ReduceOp", "Work", "all_gather", "all_reduce", "barrier", "broadcast",
           "default_group",
           "destroy_process_group", "get_backend", "get_local_rank", "get_rank", "get_world_size",
           "host_all_reduce", "init_process_group", "is_available", "is_initialized", "is_main_process",
           "launched_by_mpi", "mpiexec_path", "reduce_scatter"]
