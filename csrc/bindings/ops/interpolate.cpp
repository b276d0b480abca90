// Bindings of interpolate_forward(x, y, mode, align_corners, scale_h, scale_w) and
// interpolate_backward(grad_out, grad_x, mode, align_corners, scale_h, scale_w): x (N, C, H, W),
// y (N, C, P, Q), mode "nearest" or "bilinear". The output size is y's; scale_h / scale_w are
// the scale factors the user gave (PyTorch then maps by 1 / scale), or 0 for none. Every tap is
// clamped into the input, so any sizes and scales are safe; sizes come from existing arrays.
#include <cmath>

#include "bindings/array.h"

namespace ember {
namespace {

Interp2dShape interp_shape(const Array& x, const Array& y, const std::string& mode, bool align_corners,
                           double scale_h, double scale_w, const char* op) {
  check(mode == "nearest" || mode == "bilinear", op, [&] {
    return "mode must be 'nearest' or 'bilinear', got '" + mode + "'";
  });
  check_ndim(x, 4, op);
  check_ndim(y, 4, op);
  check_same_dtype(x, y, op);
  const bool bilinear = mode == "bilinear";
  auto shapes = [&] { return "input " + shape_str(x) + ", output " + shape_str(y); };
  check(y.dim(0) == x.dim(0) && y.dim(1) == x.dim(1), op, [&] { return "batch or channels differ: " + shapes(); });
  check(x.dim(2) >= 1 && x.dim(3) >= 1 && y.dim(2) >= 1 && y.dim(3) >= 1, op,
        [&] { return "empty planes: " + shapes(); });
  check(bilinear || !align_corners, op, [&] { return std::string("align_corners needs mode 'bilinear'"); });
  auto scale_ok = [](double s) { return s == 0 || (std::isfinite(s) && s > 0 && std::isfinite(float(1.0 / s))); };
  check(scale_ok(scale_h) && scale_ok(scale_w), op, [&] {
    return "scale factors must be positive and finite (or 0: none), got " + std::to_string(scale_h) + " and " +
           std::to_string(scale_w);
  });
  return Interp2dShape{x.dim(0), x.dim(1), x.dim(2), x.dim(3), y.dim(2), y.dim(3), bilinear, align_corners,
                       scale_h, scale_w};
}

}  // namespace

void bind_interpolate(py::module_& m) {
  m.def("interpolate_forward", [](py::handle x_, py::handle y_, const std::string& mode, bool align_corners,
                                  double scale_h, double scale_w) {
    const char* op = "interpolate_forward";
    Array x = as_array(x_, op, "input"), y = as_array(y_, op, "out", true);
    Interp2dShape s = interp_shape(x, y, mode, align_corners, scale_h, scale_w, op);
    if (s.N * s.C == 0) return;
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::interpolate_forward(s, x.data<T>(), y.data<T>());
    });
  });
  m.def("interpolate_backward", [](py::handle gy_, py::handle gx_, const std::string& mode, bool align_corners,
                                   double scale_h, double scale_w) {
    const char* op = "interpolate_backward";
    Array gy = as_array(gy_, op, "grad_out"), gx = as_array(gx_, op, "grad_input", true);
    Interp2dShape s = interp_shape(gx, gy, mode, align_corners, scale_h, scale_w, op);
    if (s.N * s.C == 0) return;
    dispatch_float(gy, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::interpolate_backward(s, gy.data<T>(), gx.data<T>());
    });
  });
}

}  // namespace ember
