// Bindings of batch_norm over x (N, C, L) (the Python layer folds H*W into L). weight and
// bias are optional (affine=False); mean and var (C) are written in training and read
// otherwise. Backward's outputs are optional (None: not needed).
#include "bindings/array.h"

namespace ember {
namespace {

// An optional per-channel array of x's dtype: null data for None.
Array channel_array(py::handle h, const Array& x, const char* op, const char* name, bool writable) {
  Array a;
  if (h.is_none()) return a;
  a = as_array(h, op, name, writable);
  check(a.ndim() == 1 && a.dim(0) == x.dim(1), op, [&] {
    return "'" + std::string(name) + "' " + shape_str(a) + " must have shape (" + std::to_string(x.dim(1)) +
           ",) for input " + shape_str(x);
  });
  check_same_dtype(x, a, op);
  return a;
}

void check_eps(double eps, const char* op) {
  check(eps >= 0, op, [&] { return "eps must be non-negative, got " + std::to_string(eps); });
}

}  // namespace

void bind_batch_norm(py::module_& m) {
  m.def("batch_norm_forward", [](py::handle x_, py::handle w_, py::handle b_, py::handle mean_, py::handle var_,
                                 py::handle y_, double eps, bool training) {
    const char* op = "batch_norm_forward";
    Array x = as_array(x_, op, "input"), y = as_array(y_, op, "out", true);
    check_ndim(x, 3, op);
    check_same_shape(x, y, op);
    check_same_dtype(x, y, op);
    check_eps(eps, op);
    check(!mean_.is_none() && !var_.is_none(), op, "mean and var are required");
    Array w = channel_array(w_, x, op, "weight", false), b = channel_array(b_, x, op, "bias", false);
    Array mean = channel_array(mean_, x, op, "mean", training), var = channel_array(var_, x, op, "var", training);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::batch_norm_forward(x.data<T>(), w.data<T>(), b.data<T>(), mean.data<T>(), var.data<T>(), y.data<T>(),
                               x.dim(0), x.dim(1), x.dim(2), eps, training);
    });
  });
  m.def("batch_norm_backward", [](py::handle x_, py::handle gy_, py::handle w_, py::handle mean_, py::handle var_,
                                  py::handle gx_, py::handle gw_, py::handle gb_, double eps, bool training) {
    const char* op = "batch_norm_backward";
    Array x = as_array(x_, op, "input"), gy = as_array(gy_, op, "grad_out");
    check_ndim(x, 3, op);
    check_same_shape(x, gy, op);
    check_same_dtype(x, gy, op);
    check_eps(eps, op);
    check(!mean_.is_none() && !var_.is_none(), op, "mean and var are required");
    Array w = channel_array(w_, x, op, "weight", false);
    Array mean = channel_array(mean_, x, op, "mean", false), var = channel_array(var_, x, op, "var", false);
    Array gx;
    if (!gx_.is_none()) {
      gx = as_array(gx_, op, "grad_input", true);
      check_same_shape(x, gx, op);
      check_same_dtype(x, gx, op);
    }
    Array gw = channel_array(gw_, x, op, "grad_weight", true), gb = channel_array(gb_, x, op, "grad_bias", true);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::batch_norm_backward(x.data<T>(), gy.data<T>(), w.data<T>(), mean.data<T>(), var.data<T>(), gx.data<T>(),
                                gw.data<T>(), gb.data<T>(), x.dim(0), x.dim(1), x.dim(2), eps, training);
    });
  });
}

}  // namespace ember
