// ember._emu_selftest: the emulator's test kernels (tests/emu/kernels/*.cu),
// launched by name on NumPy arrays, plus the emulator's controls.
//   run(name, arrays, grid=1, block=32, smem=0, ints=(), register=True)
// Each array is registered with the bounds checker under the name argN, unless
// register=False (then the launch runs without global bounds checks).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "cuda/emu/controls.h"
#include "harness.cuh"

namespace py = pybind11;
using ember::emu_test::Args;

static dim3 as_dim3(const py::object& o, const char* what) {
  if (py::isinstance<py::int_>(o)) return dim3(o.cast<unsigned>());
  auto v = o.cast<std::vector<unsigned>>();
  if (v.empty() || v.size() > 3) throw py::value_error(std::string(what) + " must be an int or 1 to 3 ints");
  v.resize(3, 1);
  return dim3(v[0], v[1], v[2]);
}

PYBIND11_MODULE(_emu_selftest, m) {
  m.doc() = "cuda-emu self-test kernels (tests/emu/kernels)";
  ember::emu::bind_controls(m);
  m.def("kernels", [] {
    std::vector<std::string> names;
    for (auto& kv : ember::emu_test::registry()) names.push_back(kv.first);
    return names;
  });
  m.def(
      "run",
      [](const std::string& name, py::list arrays, py::object grid, py::object block, size_t smem,
         std::vector<long long> ints, bool register_buffers) {
        auto it = ember::emu_test::registry().find(name);
        if (it == ember::emu_test::registry().end()) throw py::key_error("no self-test kernel named '" + name + "'");
        Args a;
        a.grid = as_dim3(grid, "grid");
        a.block = as_dim3(block, "block");
        a.smem = smem;
        a.ints = std::move(ints);
        std::vector<py::array> keep;
        std::vector<ember::emu::BufferScope> scopes;
        for (size_t i = 0; i < arrays.size(); ++i) {
          auto arr = py::array::ensure(arrays[i]);
          if (!arr || !(arr.flags() & py::array::c_style) || !arr.writeable())
            throw py::value_error("argument " + std::to_string(i) + " must be a writable C-contiguous array");
          a.bufs.push_back(arr.mutable_data());
          if (register_buffers) scopes.emplace_back(arr.data(), size_t(arr.nbytes()), "arg" + std::to_string(i));
          keep.push_back(arr);
        }
        py::gil_scoped_release nogil;
        it->second(a);
      },
      py::arg("name"), py::arg("arrays"), py::arg("grid") = 1, py::arg("block") = 32, py::arg("smem") = 0,
      py::arg("ints") = std::vector<long long>{}, py::arg("register") = true);
}
