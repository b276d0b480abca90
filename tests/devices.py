"""The devices tests run on, and the one rule for a test whose device or kernel module is missing.

Such a test skips, except under CI (the environment variable CI set): CI builds ember._cpu,
ember._cuda_emu and ember._emu_selftest, so there a missing one fails the test instead of
letting a broken build pass quietly. cuda needs a GPU, so its tests may skip anywhere.
"""
import importlib
import os

import pytest

from ember.backends import _errors, is_available

DEVICES = ["numpy", "cpu", "cuda-emu", pytest.param("cuda", marks=pytest.mark.cuda)]
KERNEL_DEVICES = DEVICES[1:]
CI_DEVICES = ("numpy", "cpu", "cuda-emu")


def under_ci():
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def missing(what, reason, ci_builds=True):
    """Skips the test for a missing `what`; fails it under CI when CI builds `what`."""
    if ci_builds and under_ci():
        pytest.fail(f"{what} is missing under CI, which builds it: {reason}", pytrace=False)
    pytest.skip(f"{what} is not available here: {reason}")


def require(device):
    """Returns when `device` is usable; otherwise skips or fails the test (see missing)."""
    if not is_available(device):
        missing(f"device '{device}'", _errors.get(device), ci_builds=device in CI_DEVICES)


def kernel_module(env, default):
    """The compiled module that the environment variable `env` names (out-of-tree builds), else `default`.

    One that is not there skips or fails the test (see missing); one that is there but does not
    load raises.
    """
    name = os.environ.get(env, default)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        missing(name, e)
