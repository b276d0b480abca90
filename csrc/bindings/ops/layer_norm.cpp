// Bindings of layer_norm over the last axis of a 2-D array (rows, cols); the Python
// layer folds the normalised dimensions into cols and the rest into rows.
// weight / bias (cols,) may be None (no affine part); so may grad_weight / grad_bias.
#include "bindings/array.h"

namespace ember {

// An optional (cols,) array of x's dtype, or an empty Array (null data) for None.
static Array optional_vector(py::handle obj, const Array& x, const char* op, const char* name, bool writable) {
  if (obj.is_none()) return Array{};
  Array a = as_array(obj, op, name, writable);
  check(a.shape == std::vector<int64_t>{x.dim(1)}, op,
        [&] { return "'" + std::string(name) + "' " + shape_str(a) + " must be (cols,) for 'x' " + shape_str(x); });
  check_same_dtype(x, a, op);
  return a;
}

static void check_stats(const Array& x, const Array& s, const char* op) {
  check(s.shape == std::vector<int64_t>{x.dim(0)}, op,
        [&] { return "'" + s.name + "' " + shape_str(s) + " must be (rows,) for 'x' " + shape_str(x); });
  check_same_dtype(x, s, op);
}

void bind_layer_norm(py::module_& m) {
  m.def("layer_norm_forward", [](py::handle x_, py::handle w_, py::handle b_, py::handle y_, py::handle mean_,
                                 py::handle rstd_, double eps) {
    const char* op = "layer_norm_forward";
    Array x = as_array(x_, op, "x"), y = as_array(y_, op, "out", true);
    check_ndim(x, 2, op);
    check_same_shape(x, y, op);
    check_same_dtype(x, y, op);
    Array w = optional_vector(w_, x, op, "weight", false), b = optional_vector(b_, x, op, "bias", false);
    Array mean = as_array(mean_, op, "mean", true), rstd = as_array(rstd_, op, "rstd", true);
    check_stats(x, mean, op);
    check_stats(x, rstd, op);
    check(eps >= 0, op, [&] { return "eps must be >= 0, got " + std::to_string(eps); });
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::layer_norm_forward(x.data<T>(), w.data<T>(), b.data<T>(), y.data<T>(), mean.data<T>(), rstd.data<T>(),
                               x.dim(0), x.dim(1), eps);
    });
  });
  m.def("layer_norm_backward", [](py::handle x_, py::handle mean_, py::handle rstd_, py::handle w_, py::handle gy_,
                                  py::handle gx_, py::handle gw_, py::handle gb_) {
    const char* op = "layer_norm_backward";
    Array x = as_array(x_, op, "x"), gy = as_array(gy_, op, "grad_out"), gx = as_array(gx_, op, "grad_x", true);
    check_ndim(x, 2, op);
    check_same_shape(x, gy, op);
    check_same_shape(x, gx, op);
    check_same_dtype(x, gy, op);
    check_same_dtype(x, gx, op);
    Array mean = as_array(mean_, op, "mean"), rstd = as_array(rstd_, op, "rstd");
    check_stats(x, mean, op);
    check_stats(x, rstd, op);
    Array w = optional_vector(w_, x, op, "weight", false);
    Array gw = optional_vector(gw_, x, op, "grad_weight", true), gb = optional_vector(gb_, x, op, "grad_bias", true);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::layer_norm_backward(x.data<T>(), mean.data<T>(), rstd.data<T>(), w.data<T>(), gy.data<T>(), gx.data<T>(),
                                gw.data<T>(), gb.data<T>(), x.dim(0), x.dim(1));
    });
  });
}

}  // namespace ember
