// Bindings of softmax and log_softmax over the last axis of a 2-D array
// (the Python layer moves the axis last and makes the input contiguous).
#include "bindings/array.h"

namespace ember {

template <class Kernel>
static void rows_unary(const char* op, py::handle x_, py::handle y_, Kernel kernel) {
  Array x = as_array(x_, op, "x"), y = as_array(y_, op, "out", true);
  check_ndim(x, 2, op);
  check_same_shape(x, y, op);
  check_same_dtype(x, y, op);
  dispatch_float(x, op, [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release nogil;
    kernel(x.data<T>(), y.data<T>(), x.dim(0), x.dim(1));
  });
}

template <class Kernel>
static void rows_binary(const char* op, py::handle y_, py::handle gy_, py::handle gx_, Kernel kernel) {
  Array y = as_array(y_, op, "out"), gy = as_array(gy_, op, "grad_out"), gx = as_array(gx_, op, "grad_x", true);
  check_ndim(y, 2, op);
  check_same_shape(y, gy, op);
  check_same_shape(y, gx, op);
  check_same_dtype(y, gy, op);
  check_same_dtype(y, gx, op);
  dispatch_float(y, op, [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release nogil;
    kernel(y.data<T>(), gy.data<T>(), gx.data<T>(), y.dim(0), y.dim(1));
  });
}

#define EMBER_BIND_SOFTMAX(name)                                                               \
  m.def(#name "_forward", [](py::handle x, py::handle y) {                                    \
    rows_unary(#name "_forward", x, y,                                                         \
               [](auto* a, auto* b, int64_t r, int64_t c) { kern::name##_forward(a, b, r, c); }); \
  });                                                                                          \
  m.def(#name "_backward", [](py::handle y, py::handle gy, py::handle gx) {                   \
    rows_binary(#name "_backward", y, gy, gx, [](auto* a, auto* b, auto* g, int64_t r, int64_t c) { \
      kern::name##_backward(a, b, g, r, c);                                                    \
    });                                                                                        \
  });

void bind_softmax(py::module_& m) {
  EMBER_BIND_SOFTMAX(softmax)
  EMBER_BIND_SOFTMAX(log_softmax)
}

}  // namespace ember
