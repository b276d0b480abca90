"""A tiny op kernel on the cuda-emu device, through ember._cuda_emu (built once
csrc/cuda/ holds every op family)."""
import importlib
import os

import numpy as np
import pytest


@pytest.fixture(scope="module")
def cuda_emu():
    name = os.environ.get("EMBER_CUDA_EMU_MODULE", "ember._cuda_emu")
    try:
        return importlib.import_module(name)
    except ImportError as e:
        pytest.skip(f"{name} is not built: {e}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_on_cuda_emu(cuda_emu, dtype):
    x = np.linspace(-2, 2, 1001).astype(dtype)
    y = np.empty_like(x)
    cuda_emu.relu_forward(x, y)
    np.testing.assert_array_equal(y, np.maximum(x, 0))


def test_controls_are_exported(cuda_emu):
    if not hasattr(cuda_emu, "set_schedule"):
        pytest.skip("module.cpp does not call ember::emu::bind_controls yet")
    cuda_emu.set_schedule("reverse")
    assert cuda_emu.get_schedule() == "reverse"
    cuda_emu.set_schedule("")
