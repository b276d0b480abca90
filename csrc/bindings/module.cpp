// The extension module: one per backend (_cpu, _cuda, _cuda_emu), all built
// from the same binding files so that Python finds every kernel by name.
#include <pybind11/pybind11.h>

#include "bindings/ops.h"

#if defined(EMBER_BACKEND_CPU)
#include <omp.h>

#include "cpu/isa.h"

namespace ember {
void bind_host_pool(pybind11::module_& m);  // bindings/host_pool.cpp
}
#endif
#if defined(EMBER_CUDA_EMU)
#include "cuda/emu/controls.h"
#endif

namespace py = pybind11;

PYBIND11_MODULE(EMBER_MODULE_NAME, m) {
  m.doc() = "ember compute kernels";
  py::list families;  // the stems of csrc/bindings/ops/*.cpp, as the build found them
#define EMBER_CALL_BIND(stem) \
  ember::bind_##stem(m);      \
  families.append(#stem);
  EMBER_OP_FAMILIES(EMBER_CALL_BIND)
#undef EMBER_CALL_BIND
  m.attr("op_families") = families;

#if defined(EMBER_CUDA_EMU)
  ember::emu::bind_controls(m);  // set_schedule/get_schedule/set_check/get_check/emu_stats
#endif
#if defined(EMBER_BACKEND_CPU)
  ember::bind_host_pool(m);
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw py::value_error("set_num_threads: n must be >= 1, got " + std::to_string(n));
    omp_set_num_threads(n);
  });
  m.def("get_num_threads", [] { return omp_get_max_threads(); });
  m.def("isa", [] { return std::string(ember::cpu::isa_name(ember::cpu::active_isa())); });
  m.def("set_isa", [](const std::string& name) {
    using ember::cpu::Isa;
    if (name == "generic") ember::cpu::set_isa(Isa::generic);
    else if (name == "avx2") ember::cpu::set_isa(Isa::avx2);
    else if (name == "avx512") ember::cpu::set_isa(Isa::avx512);
    else throw py::value_error("set_isa: unknown ISA '" + name + "'; known: generic, avx2, avx512");
    return std::string(ember::cpu::isa_name(ember::cpu::active_isa()));
  });
#endif
}
