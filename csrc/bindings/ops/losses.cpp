// Bindings of the elementwise losses: name_forward(x, target, out[, param]) and
// name_backward(x, target, grad_out, grad_x[, param]); bce_with_logits takes an
// optional pos_weight array (None: 1) shaped like x after the target.
#include "bindings/array.h"

namespace ember {

namespace {

Array optional_array(py::handle h, const char* op, const char* name, const Array& like) {
  if (h.is_none()) return Array{};
  Array a = as_array(h, op, name);
  check_same_shape(like, a, op);
  check_same_dtype(like, a, op);
  return a;
}

template <class Kernel>
void forward(const char* op, py::handle x_, py::handle t_, py::handle pw_, py::handle y_, Kernel kernel) {
  Array x = as_array(x_, op, "x"), t = as_array(t_, op, "target"), y = as_array(y_, op, "out", true);
  check_same_shape(x, t, op);
  check_same_shape(x, y, op);
  check_same_dtype(x, t, op);
  check_same_dtype(x, y, op);
  Array pw = optional_array(pw_, op, "pos_weight", x);
  dispatch_float(x, op, [&](auto v) {
    using T = decltype(v);
    py::gil_scoped_release nogil;
    kernel(x.data<T>(), t.data<T>(), pw.data<T>(), y.data<T>(), x.numel());
  });
}

template <class Kernel>
void backward(const char* op, py::handle x_, py::handle t_, py::handle pw_, py::handle g_, py::handle gx_,
              Kernel kernel) {
  Array x = as_array(x_, op, "x"), t = as_array(t_, op, "target"), g = as_array(g_, op, "grad_out"),
        gx = as_array(gx_, op, "grad_x", true);
  check_same_shape(x, t, op);
  check_same_shape(x, g, op);
  check_same_shape(x, gx, op);
  check_same_dtype(x, t, op);
  check_same_dtype(x, g, op);
  check_same_dtype(x, gx, op);
  Array pw = optional_array(pw_, op, "pos_weight", x);
  dispatch_float(x, op, [&](auto v) {
    using T = decltype(v);
    py::gil_scoped_release nogil;
    kernel(x.data<T>(), t.data<T>(), pw.data<T>(), g.data<T>(), gx.data<T>(), x.numel());
  });
}

}  // namespace

#define EMBER_BIND_LOSS(name)                                                                           \
  m.def(#name "_forward", [](py::handle x, py::handle t, py::handle y) {                               \
    forward(#name "_forward", x, t, py::none(), y,                                                      \
            [](auto* a, auto* b, auto*, auto* c, int64_t n) { kern::name##_forward(a, b, c, n); });      \
  });                                                                                                   \
  m.def(#name "_backward", [](py::handle x, py::handle t, py::handle g, py::handle gx) {               \
    backward(#name "_backward", x, t, py::none(), g, gx,                                                \
             [](auto* a, auto* b, auto*, auto* c, auto* d, int64_t n) { kern::name##_backward(a, b, c, d, n); }); \
  });

void bind_losses(py::module_& m) {
  EMBER_BIND_LOSS(mse)
  EMBER_BIND_LOSS(l1)
  EMBER_BIND_LOSS(bce)
  m.def("smooth_l1_forward", [](py::handle x, py::handle t, py::handle y, double beta) {
    check(beta >= 0, "smooth_l1_forward", "beta must be non-negative");
    forward("smooth_l1_forward", x, t, py::none(), y,
            [=](auto* a, auto* b, auto*, auto* c, int64_t n) { kern::smooth_l1_forward(a, b, c, n, beta); });
  });
  m.def("smooth_l1_backward", [](py::handle x, py::handle t, py::handle g, py::handle gx, double beta) {
    check(beta >= 0, "smooth_l1_backward", "beta must be non-negative");
    backward("smooth_l1_backward", x, t, py::none(), g, gx, [=](auto* a, auto* b, auto*, auto* c, auto* d, int64_t n) {
      kern::smooth_l1_backward(a, b, c, d, n, beta);
    });
  });
  m.def("bce_with_logits_forward", [](py::handle x, py::handle t, py::handle pw, py::handle y) {
    forward("bce_with_logits_forward", x, t, pw, y, [&](auto* a, auto* b, auto* p, auto* c, int64_t n) {
      kern::bce_with_logits_forward(a, b, pw.is_none() ? nullptr : p, c, n);
    });
  });
  m.def("bce_with_logits_backward", [](py::handle x, py::handle t, py::handle pw, py::handle g, py::handle gx) {
    backward("bce_with_logits_backward", x, t, pw, g, gx, [&](auto* a, auto* b, auto* p, auto* c, auto* d, int64_t n) {
      kern::bce_with_logits_backward(a, b, pw.is_none() ? nullptr : p, c, d, n);
    });
  });
}

}  // namespace ember
