// Bindings of the elementwise activations: name_forward(x, out[, params]) and
// name_backward(saved, grad_out, grad_x[, params]), where `saved` is x or, for
// sigmoid and tanh (and elu with is_result), the forward output. Any x may be
// the out array too (in place: each item is read before it is written).
#include "bindings/array.h"

namespace ember {

template <class Kernel>
static void unary(const char* op, py::handle x_, py::handle y_, Kernel kernel) {
  Array x = as_array(x_, op, "x"), y = as_array(y_, op, "out", true);
  check_same_shape(x, y, op);
  check_same_dtype(x, y, op);
  dispatch_float(x, op, [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release nogil;
    kernel(x.data<T>(), y.data<T>(), x.numel());
  });
}

template <class Kernel>
static void binary(const char* op, py::handle s_, py::handle gy_, py::handle gx_, Kernel kernel) {
  Array s = as_array(s_, op, "saved"), gy = as_array(gy_, op, "grad_out"), gx = as_array(gx_, op, "grad_x", true);
  check_same_shape(s, gy, op);
  check_same_shape(s, gx, op);
  check_same_dtype(s, gy, op);
  check_same_dtype(s, gx, op);
  dispatch_float(s, op, [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release nogil;
    kernel(s.data<T>(), gy.data<T>(), gx.data<T>(), s.numel());
  });
}

#define EMBER_BIND_ACTIVATION(name)                                                          \
  m.def(#name "_forward", [](py::handle x, py::handle y) {                                  \
    unary(#name "_forward", x, y, [](auto* a, auto* b, int64_t n) { kern::name##_forward(a, b, n); }); \
  });                                                                                        \
  m.def(#name "_backward", [](py::handle s, py::handle gy, py::handle gx) {                 \
    binary(#name "_backward", s, gy, gx,                                                     \
           [](auto* a, auto* b, auto* c, int64_t n) { kern::name##_backward(a, b, c, n); }); \
  });

void bind_activations(py::module_& m) {
  EMBER_BIND_ACTIVATION(relu)
  EMBER_BIND_ACTIVATION(sigmoid)
  EMBER_BIND_ACTIVATION(tanh)
  EMBER_BIND_ACTIVATION(silu)
  m.def("leaky_relu_forward", [](py::handle x, py::handle y, double slope) {
    unary("leaky_relu_forward", x, y, [=](auto* a, auto* b, int64_t n) { kern::leaky_relu_forward(a, b, n, slope); });
  });
  m.def("leaky_relu_backward", [](py::handle x, py::handle gy, py::handle gx, double slope) {
    binary("leaky_relu_backward", x, gy, gx,
           [=](auto* a, auto* b, auto* c, int64_t n) { kern::leaky_relu_backward(a, b, c, n, slope); });
  });
  m.def("gelu_forward", [](py::handle x, py::handle y, bool approximate) {
    unary("gelu_forward", x, y, [=](auto* a, auto* b, int64_t n) { kern::gelu_forward(a, b, n, approximate); });
  });
  m.def("gelu_backward", [](py::handle x, py::handle gy, py::handle gx, bool approximate) {
    binary("gelu_backward", x, gy, gx,
           [=](auto* a, auto* b, auto* c, int64_t n) { kern::gelu_backward(a, b, c, n, approximate); });
  });
  m.def("elu_forward", [](py::handle x, py::handle y, double alpha) {
    unary("elu_forward", x, y, [=](auto* a, auto* b, int64_t n) { kern::elu_forward(a, b, n, alpha); });
  });
  m.def("elu_backward", [](py::handle s, py::handle gy, py::handle gx, double alpha, bool is_result) {
    // from the output, y > 0 and x > 0 pick the same items only for alpha >= 0
    check(!is_result || alpha >= 0, "elu_backward", [&] {
      return "backward from the output needs alpha >= 0, got " + std::to_string(alpha);
    });
    binary("elu_backward", s, gy, gx,
           [=](auto* a, auto* b, auto* c, int64_t n) { kern::elu_backward(a, b, c, n, alpha, is_result); });
  });
  auto softplus_check = [](const char* op, double beta) {
    check(float(beta) != 0.0f, op, [&] { return "beta must be nonzero, got " + std::to_string(beta); });
  };
  m.def("softplus_forward", [=](py::handle x, py::handle y, double beta, double threshold) {
    softplus_check("softplus_forward", beta);
    unary("softplus_forward", x, y,
          [=](auto* a, auto* b, int64_t n) { kern::softplus_forward(a, b, n, beta, threshold); });
  });
  m.def("softplus_backward", [=](py::handle x, py::handle gy, py::handle gx, double beta, double threshold) {
    softplus_check("softplus_backward", beta);
    binary("softplus_backward", x, gy, gx,
           [=](auto* a, auto* b, auto* c, int64_t n) { kern::softplus_backward(a, b, c, n, beta, threshold); });
  });
  auto hardtanh_check = [](const char* op, double lo, double hi) {
    check(lo <= hi, op, [&] {  // also false for a NaN bound
      return "min_val must not be greater than max_val, got " + std::to_string(lo) + " and " + std::to_string(hi);
    });
  };
  m.def("hardtanh_forward", [=](py::handle x, py::handle y, double lo, double hi) {
    hardtanh_check("hardtanh_forward", lo, hi);
    unary("hardtanh_forward", x, y, [=](auto* a, auto* b, int64_t n) { kern::hardtanh_forward(a, b, n, lo, hi); });
  });
  m.def("hardtanh_backward", [=](py::handle x, py::handle gy, py::handle gx, double lo, double hi) {
    hardtanh_check("hardtanh_backward", lo, hi);
    binary("hardtanh_backward", x, gy, gx,
           [=](auto* a, auto* b, auto* c, int64_t n) { kern::hardtanh_backward(a, b, c, n, lo, hi); });
  });
}

}  // namespace ember
