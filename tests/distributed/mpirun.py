"""Run a worker script under `mpiexec -n N` in a subprocess with a timeout, so a hang fails the test."""
import os
import pathlib
import subprocess
import sys
import time

import pytest

import ember
import ember.distributed

WORKERS = pathlib.Path(__file__).parent / "workers"
# the ranks import the ember this test imported (the installed one in CI, the source tree in development)
PYTHON_DIR = pathlib.Path(ember.__file__).resolve().parents[1]


def _missing(why):
    """CI installs the distributed extra, so there a missing MPI fails instead of skipping."""
    if os.environ.get("CI"):
        pytest.fail(f"{why}: .ci/run installs ember[distributed]")
    pytest.skip(why)


def mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        _missing("mpi4py is missing (pip install 'ember[distributed]')")
    exe = ember.distributed.mpiexec_path()
    if exe is None:
        _missing("no mpiexec on PATH (pip install 'ember[distributed]')")
    return exe


def run(worker, *args, n=2, timeout=120, check=True):
    """(CompletedProcess, seconds) of `mpiexec -n n python workers/worker args`, one thread per rank."""
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(PYTHON_DIR), os.environ.get("PYTHONPATH", "")]))
    cmd = [mpiexec(), "-n", str(n), sys.executable, str(WORKERS / worker), *map(str, args)]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{worker} hung: no exit within {timeout} s\nstdout:\n{e.stdout}\nstderr:\n{e.stderr}")
    elapsed = time.monotonic() - start
    if check and proc.returncode != 0:
        pytest.fail(f"{worker} exited with {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc, elapsed
