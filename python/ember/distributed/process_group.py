"""The default process group: which backend, this process's rank, the world size, the timeout.

MPI (mpi4py) always carries the group: it starts the processes (mpiexec), tells each its rank, and
shares the NCCL unique id when the backend is NCCL. An uncaught exception on any rank aborts the
whole job (MPI_Abort) after printing that rank's traceback, so no peer waits forever in a collective.
"""
import datetime
import os
import sys
import traceback

DEFAULT_TIMEOUT_S = 1800.0  # PyTorch's default: 30 minutes
BACKENDS = ("mpi", "nccl")


class _Group:
    def __init__(self, backend, comm, timeout):
        self.backend_name, self.comm, self.timeout = backend, comm, timeout
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        node = comm.Split_type(_mpi().COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()
        self.backend = None  # the collectives' implementation, set by init_process_group


_group = None
_previous_hook = None


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError("ember.distributed needs mpi4py and an MPI: pip install 'ember[distributed]' "
                           f"({e})") from None
    return MPI


def _seconds(timeout):
    if timeout is None:
        return DEFAULT_TIMEOUT_S
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"[init_process_group] timeout must be positive seconds or a timedelta, got {timeout!r}")
    return float(timeout)


def _abort_on_exception(exc_type, exc, tb):
    """sys.excepthook under mpiexec or in a group: print this rank's traceback, then end every rank."""
    env_rank = os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "?"))
    rank = _group.rank if _group is not None else env_rank
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(f"[ember.distributed] rank {rank} failed; aborting the job:\n{text}")
    sys.stderr.flush()
    sys.stdout.flush()
    try:
        MPI = _mpi()
    except RuntimeError:  # no mpi4py: nothing to abort through
        return
    MPI.COMM_WORLD.Abort(1)


def _install_excepthook():
    global _previous_hook
    if sys.excepthook is not _abort_on_exception:
        _previous_hook, sys.excepthook = sys.excepthook, _abort_on_exception


def _all_have_gpu(comm):
    from .. import cuda
    return comm.allreduce(int(cuda.is_available()), op=_mpi().MIN) == 1


def init_process_group(backend=None, timeout=None, init_method=None, world_size=-1, rank=-1):
    """Join the job's default process group (the processes mpiexec started).

    Args:
        backend: "mpi", "nccl" (CuPy's NCCL, one GPU per rank) or None (NCCL when every rank has a GPU, else MPI).
        timeout: seconds (or a timedelta) after which a collective raises DistTimeoutError instead of waiting.
        init_method, world_size, rank: accepted for PyTorch compatibility; MPI decides them, and a
            world_size or rank that disagrees with it raises ValueError.
    Example:
        dist.init_process_group("mpi")   # under: mpiexec -n 4 python train.py
    """
    global _group
    if _group is not None:
        raise RuntimeError("[init_process_group] the default process group is already initialized")
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"[init_process_group] unknown backend {backend!r}; known: {', '.join(BACKENDS)} or None")
    seconds = _seconds(timeout)
    comm = _mpi().COMM_WORLD.Dup()
    if world_size not in (-1, comm.Get_size()) or rank not in (-1, comm.Get_rank()):
        raise ValueError(f"[init_process_group] world_size={world_size}, rank={rank} disagree with MPI's "
                         f"{comm.Get_size()} processes (this one rank {comm.Get_rank()})")
    if backend is None:
        backend = "nccl" if _all_have_gpu(comm) else "mpi"
    group = _Group(backend, comm, seconds)
    if backend == "nccl":
        from .nccl import NcclBackend
        group.backend = NcclBackend(group)
    else:
        from .mpi import MpiBackend
        group.backend = MpiBackend(group)
    _group = group
    _install_excepthook()


def destroy_process_group():
    """Leave the default process group (MPI itself stays initialized until the process exits)."""
    global _group, _previous_hook
    if _group is None:
        raise RuntimeError("[destroy_process_group] no process group is initialized")
    _group.backend.close()
    _group.comm.Free()
    _group = None
    # under mpiexec the other ranks live on: a later exception must still end the job
    if sys.excepthook is _abort_on_exception and not launched_by_mpi():
        sys.excepthook, _previous_hook = _previous_hook, None


def is_initialized():
    return _group is not None


def is_available():
    """True when mpi4py and an MPI library can be imported."""
    try:
        _mpi()
    except RuntimeError:
        return False
    return True


def default_group():
    """The default group; RuntimeError when none is initialized."""
    if _group is None:
        raise RuntimeError("[ember.distributed] the default process group is not initialized; "
                           "call ember.distributed.init_process_group() first")
    return _group


def get_rank():
    return default_group().rank


def get_world_size():
    return default_group().size


def get_local_rank():
    """This process's rank among the processes on its own machine."""
    return default_group().local_rank


def get_backend():
    return default_group().backend_name


def is_main_process():
    """True on rank 0, and in a process that is not part of a group."""
    return _group is None or _group.rank == 0


def mpiexec_path():
    """The mpiexec to start ranks with, or None: this interpreter's own bin folder first (a venv's
    mpich wheel puts it there, also when the venv is not activated), then PATH."""
    import shutil
    import sys
    return shutil.which("mpiexec", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))


def launched_by_mpi():
    """True when an MPI launcher started this process as one of several."""
    for key in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_SIZE"):
        value = os.environ.get(key)
        if value is not None and value.isdigit() and int(value) > 1:
            return True
    return False


if launched_by_mpi():  # from import on, so a rank failing before init_process_group ends the job too
    _install_excepthook()
