"""The CMake build finds the op families by their files: a binding file is bound without a
hand-kept list, and one without its CUDA kernels stops the configure step of a CUDA build;
a mistyped EMBER_CUDA stops it too."""
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).parents[1]
pybind11 = pytest.importorskip("pybind11")
if shutil.which("cmake") is None:
    pytest.skip("cmake is not installed", allow_module_level=True)


def configure(tmp_path, *options):
    """Configures a copy of the sources with one extra binding file, csrc/bindings/ops/zzz.cpp."""
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
