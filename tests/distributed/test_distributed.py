"""Multi-process tests: each runs a worker under `mpiexec -n 2` (see workers/) with a timeout."""
import re

import pytest

from .mpirun import run


def _ok_lines(proc, name, n=2):
    """The worker's "OK name ... rank r" lines: one from each rank."""
    lines = re.findall(rf"OK {re.escape(name)}.*? rank \d", proc.stdout)
    assert len(lines) == n, proc.stdout
    return lines


def test_collectives_match_numpy_for_every_op_and_dtype_and_time_out():
    proc, _ = run("collectives.py")
    for name in ("collectives", "errors", "timeout"):
        _ok_lines(proc, name)


def test_ddp_equals_one_process_on_the_concatenated_batch():
    proc, _ = run("ddp.py")
    for name in ("ddp mlp", "ddp cnn", "ddp lstm", "sync batchnorm", "no_sync", "unused branch", "overlap",
                 "state_dict names", "fingerprint"):
        _ok_lines(proc, name)


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_raising_rank_ends_the_job_with_its_traceback(when):
    """rank 1 raises before or after init_process_group; rank 0 would otherwise wait for 30 minutes."""
    proc, elapsed = run("fault.py", when, timeout=60, check=False)
    assert proc.returncode != 0
    assert elapsed < 30, elapsed
    assert "planted failure on rank 1" in proc.stderr and "rank 1 failed" in proc.stderr, proc.stderr
    assert "passed a collective" not in proc.stderr


def test_fit_on_two_ranks_equals_one_process_with_twice_the_batch():
    proc, _ = run("fit.py", "compare", ".")
    _ok_lines(proc, "compare")
    assert proc.stdout.count("Epoch ") == 2, proc.stdout  # printed by rank 0 only


def test_a_killed_job_resumes_from_its_checkpoint_to_the_same_weights(tmp_path):
    proc, _ = run("fit.py", "killed", tmp_path, check=False)
    assert proc.returncode != 0
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved == ["ckpt-1.safetensors", "ckpt-2.safetensors"], saved
    proc, _ = run("fit.py", "resume", tmp_path)
    assert all("resumed from epoch 2" in ln for ln in _ok_lines(proc, "resumed"))


def test_ember_train_nproc_starts_the_job_through_mpiexec():
    import os
    import subprocess
    import sys

    from .mpirun import PYTHON_DIR, mpiexec
    mpiexec()
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    proc = subprocess.run([sys.executable, "-m", "ember.cli", "train", "--model", "mlp", "--epochs", "1",
                           "--verbose", "2", "--nproc", "2"], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "data-parallel on 2 processes (mpi)" in proc.stdout, proc.stdout
    assert proc.stdout.count("test accuracy") == 1 and proc.stdout.count("Epoch 1/1") == 1, proc.stdout
