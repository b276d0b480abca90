"""Run a worker script under `mpiexec -n N` in a subprocess with a timeout, so a hang fails the test."""
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

WORKERS = pathlib.Path(__file__).parent / "workers"
PYTHON_DIR = pathlib.Path(__file__).resolve().parents[2] / "python"


def mpiexec():
    pytest.importorskip("mpi4py", reason="pip install 'ember[distributed]'")
    exe = shutil.which("mpiexec")
    if exe is None:
        pytest.skip("no mpiexec on PATH (pip install 'ember[distributed]')")
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
