"""Op families are found by their files, not by hand-kept lists: the numpy reference exports
every module of its package, a binding file is bound without a list, one without its CUDA
kernels stops the configure step of a CUDA build, and so does a mistyped EMBER_CUDA."""
import importlib
import pathlib
import pkgutil
import shutil
import subprocess

import pytest

from ember.backends import numpy_ref

from .devices import require

ROOT = pathlib.Path(__file__).parents[1]
KERNEL_SUFFIXES = ("_forward", "_backward", "_step")


def test_numpy_ref_exports_every_module_of_its_package():
    for info in pkgutil.iter_modules(numpy_ref.__path__):
        module = importlib.import_module(f"{numpy_ref.__name__}.{info.name}")
        for name in module.__all__:  # a function is re-exported wrapped (it hands back arrays, not scalars)
            got, want = getattr(numpy_ref, name), getattr(module, name)
            assert got is want or getattr(got, "__wrapped__", None) is want, f"{info.name}.{name}"


def test_numpy_ref_has_every_kernel_the_cpu_backend_has():
    require("cpu")
    from ember.backends import get_backend
    kernels = {n for n in dir(get_backend("cpu").ops) if n.endswith(KERNEL_SUFFIXES)}
    assert sorted(kernels - set(numpy_ref.__all__)) == []


def configure(tmp_path, *options):
    """Configures a copy of the sources with one extra binding file, csrc/bindings/ops/zzz.cpp."""
    pybind11 = pytest.importorskip("pybind11")
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    src = tmp_path / "src"
    for part in ("CMakeLists.txt", "cmake", "csrc", "tests/emu"):
        copy = shutil.copytree if (ROOT / part).is_dir() else shutil.copy
        (src / part).parent.mkdir(parents=True, exist_ok=True)
        copy(ROOT / part, src / part)
    (src / "csrc/bindings/ops/zzz.cpp").write_text("")
    build = tmp_path / "build"
    proc = subprocess.run(["cmake", "-S", src, "-B", build, f"-Dpybind11_DIR={pybind11.get_cmake_dir()}", *options],
                          capture_output=True, text=True)
    return proc, build


def test_a_binding_file_is_bound_without_a_list(tmp_path):
    proc, build = configure(tmp_path, "-DEMBER_CUDA=OFF", "-DEMBER_CUDA_EMU=OFF")
    assert proc.returncode == 0, proc.stderr
    families = (build / "generated/bindings/op_families.h").read_text()
    assert "X(pool)" in families and "X(zzz)" in families


def test_a_family_without_cuda_kernels_stops_the_emulator_build(tmp_path):
    proc, _ = configure(tmp_path, "-DEMBER_CUDA=OFF", "-DEMBER_CUDA_EMU=ON")
    assert proc.returncode != 0
    assert "csrc/bindings/ops/zzz.cpp has no kernels in csrc/cuda/zzz.cu" in proc.stderr


def test_an_unknown_cuda_mode_stops_the_build(tmp_path):
    proc, _ = configure(tmp_path, "-DEMBER_CUDA=yes")
    assert proc.returncode != 0
    assert "EMBER_CUDA must be AUTO, ON or OFF, got 'yes'" in proc.stderr
