"""A tiny op kernel on the cuda-emu device, through ember._cuda_emu; every binding file's
entry points are in the kernel modules built from csrc/bindings/."""
import pathlib
import re

import numpy as np
import pytest

from tests.devices import kernel_module


@pytest.fixture(scope="module")
def cuda_emu():
    return kernel_module("EMBER_CUDA_EMU_MODULE", "ember._cuda_emu")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_on_cuda_emu(cuda_emu, dtype):
    x = np.linspace(-2, 2, 1001).astype(dtype)
    y = np.empty_like(x)
    cuda_emu.relu_forward(x, y)
    np.testing.assert_array_equal(y, np.maximum(x, 0))


def test_controls_are_exported(cuda_emu):
    cuda_emu.set_schedule("reverse")
    assert cuda_emu.get_schedule() == "reverse"
    cuda_emu.set_schedule("")


BINDINGS = sorted((pathlib.Path(__file__).parents[2] / "csrc" / "bindings" / "ops").glob("*.cpp"))
MODULES = [("EMBER_CPU_MODULE", "ember._cpu"), ("EMBER_CUDA_EMU_MODULE", "ember._cuda_emu")]


@pytest.mark.parametrize("env, default", MODULES)
def test_every_binding_file_is_bound(env, default):
    module = kernel_module(env, default)
    assert sorted(module.op_families) == [p.stem for p in BINDINGS]
    for binding in BINDINGS:
        names = re.findall(r'm\.def\(\s*"(\w+)"', binding.read_text())
        assert [n for n in names if not hasattr(module, n)] == [], f"{module.__name__} lacks {binding.name}'s functions"
