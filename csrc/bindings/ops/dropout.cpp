// Bindings of dropout: x, out and the keep-mask (bool, drawn by the Python layer) share
// one shape; scale = 1 / (1 - p).
#include <cmath>

#include "bindings/array.h"

namespace ember {
namespace {

template <class Kernel>
void masked(const char* op, py::handle a_, py::handle mask_, py::handle out_, double scale, bool mask_first,
            Kernel kernel) {
  Array a = as_array(a_, op, mask_first ? "grad_out" : "input"), mask = as_array(mask_, op, "mask");
  Array out = as_array(out_, op, mask_first ? "grad_input" : "out", true);
  check_same_shape(a, mask, op);
  check_same_shape(a, out, op);
  check_dtype(mask, DType::b8, op);
  check_same_dtype(a, out, op);
  check(std::isfinite(scale), op, [&] { return "scale must be finite, got " + std::to_string(scale); });
  dispatch_float(a, op, [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release nogil;
    kernel(a.data<T>(), mask.data<uint8_t>(), out.data<T>(), a.numel());
  });
}

}  // namespace

void bind_dropout(py::module_& m) {
  m.def("dropout_forward", [](py::handle x, py::handle mask, py::handle y, double scale) {
    masked("dropout_forward", x, mask, y, scale, false,
           [&](auto* a, const uint8_t* k, auto* o, int64_t n) { kern::dropout_forward(a, k, o, n, scale); });
  });
  m.def("dropout_backward", [](py::handle mask, py::handle gy, py::handle gx, double scale) {
    masked("dropout_backward", gy, mask, gx, scale, true,
           [&](auto* a, const uint8_t* k, auto* o, int64_t n) { kern::dropout_backward(k, a, o, n, scale); });
  });
}

}  // namespace ember
