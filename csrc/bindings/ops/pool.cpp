// Bindings of max_pool2d and avg_pool2d over x (N, C, H, W) -> y (N, C, P, Q); max also
// writes int64 indices (h*W + w in the plane). The geometry arrives as (h, w) pairs; P, Q
// are read from y and must be the size PyTorch computes (floor or ceil_mode), in
// overflow-checked arithmetic; so are PyTorch's rules (padding at most half the
// kernel, every window starting inside the image or its left padding, an output of at least 1).
#include <pybind11/stl.h>

#include <algorithm>
#include <array>

#include "bindings/array.h"
#include "bindings/checked.h"

namespace ember {
namespace {

using Pair = std::array<int64_t, 2>;

std::string pair_str(const Pair& p) { return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ")"; }

Pool2dShape pool_shape(const Array& x, const Array& y, const Pair& kernel, const Pair& stride, const Pair& padding,
                       const Pair& dilation, const char* op) {
  check_ndim(x, 4, op);
  check_ndim(y, 4, op);
  check_same_dtype(x, y, op);
  Pool2dShape s{x.dim(0), x.dim(1), x.dim(2), x.dim(3), y.dim(2), y.dim(3), kernel[0], kernel[1],
                stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1]};
  auto geometry = [&] {
    return "input " + shape_str(x) + ", output " + shape_str(y) + ", kernel " + pair_str(kernel) + ", stride " +
           pair_str(stride) + ", padding " + pair_str(padding) + ", dilation " + pair_str(dilation);
  };
  check(y.dim(0) == s.N && y.dim(1) == s.C, op, [&] { return "output does not fit: " + geometry(); });
  check(s.R >= 1 && s.S >= 1 && s.stride_h >= 1 && s.stride_w >= 1 && s.dil_h >= 1 && s.dil_w >= 1, op,
        [&] { return "kernel, stride and dilation must be positive: " + geometry(); });
  // (pad <= kernel / 2 rather than 2 * pad <= kernel: nothing to overflow)
  check(s.pad_h >= 0 && s.pad_w >= 0 && s.pad_h <= s.R / 2 && s.pad_w <= s.S / 2, op,
        [&] { return "padding must be between 0 and half the kernel: " + geometry(); });
  // PyTorch's pooling_output_shape, floor or ceil_mode: the span (negative when the window is
  // larger than the padded input) floor-divided by the stride (rounded up in ceil_mode), where
  // the last window must still start inside the input or its left padding; at least 1.
  auto torch_out = [&](int64_t in, int64_t k, int64_t st, int64_t pad, int64_t dil, bool ceil_mode) {
    const WindowAxis a = window_axis(in, 2 * pad, k, st, dil, op);
    const int64_t num = ceil_mode ? checked_add(a.span, st - 1, op, "span + stride - 1") : a.span;
    int64_t out = num / st - (num % st != 0 && num < 0) + 1;
    if (ceil_mode && out >= 1 && checked_mul(out - 1, st, op, "(output - 1) * stride") >=
                                     checked_add(in, pad, op, "input + padding"))
      --out;
    return out;
  };
  auto fits = [&](int64_t in, int64_t out, int64_t k, int64_t st, int64_t pad, int64_t dil) {
    return in >= 1 && out >= 1 && (out == torch_out(in, k, st, pad, dil, false) ||
                                   out == torch_out(in, k, st, pad, dil, true));
  };
  check(fits(s.H, s.P, s.R, s.stride_h, s.pad_h, s.dil_h) && fits(s.W, s.Q, s.S, s.stride_w, s.pad_w, s.dil_w), op,
        [&] { return "window larger than the padded input, or output size not given by the geometry: " + geometry(); });
  check_window_reach(s.H, s.pad_h, s.P, s.R, s.stride_h, s.dil_h, op);
  check_window_reach(s.W, s.pad_w, s.Q, s.S, s.stride_w, s.dil_w, op);
  return s;
}

}  // namespace

void bind_pool(py::module_& m) {
  m.def("max_pool2d_forward", [](py::handle x_, py::handle y_, py::handle idx_, Pair kernel, Pair stride,
                                 Pair padding, Pair dilation) {
    const char* op = "max_pool2d_forward";
    Array x = as_array(x_, op, "input"), y = as_array(y_, op, "out", true), idx = as_array(idx_, op, "indices", true);
    Pool2dShape s = pool_shape(x, y, kernel, stride, padding, dilation, op);
    check_same_shape(y, idx, op);
    check_dtype(idx, DType::i64, op);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::max_pool2d_forward(s, x.data<T>(), y.data<T>(), idx.data<int64_t>());
    });
  });
  // The kernel skips indices outside the plane, so any int64 array is safe here.
  m.def("max_pool2d_backward", [](py::handle idx_, py::handle gy_, py::handle gx_, Pair kernel, Pair stride,
                                  Pair padding, Pair dilation) {
    const char* op = "max_pool2d_backward";
    Array idx = as_array(idx_, op, "indices"), gy = as_array(gy_, op, "grad_out");
    Array gx = as_array(gx_, op, "grad_input", true);
    Pool2dShape s = pool_shape(gx, gy, kernel, stride, padding, dilation, op);
    check_same_shape(gy, idx, op);
    check_dtype(idx, DType::i64, op);
    dispatch_float(gy, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::max_pool2d_backward(s, idx.data<int64_t>(), gy.data<T>(), gx.data<T>());
    });
  });
  m.def("avg_pool2d_forward", [](py::handle x_, py::handle y_, Pair kernel, Pair stride, Pair padding,
                                 bool count_include_pad) {
    const char* op = "avg_pool2d_forward";
    Array x = as_array(x_, op, "input"), y = as_array(y_, op, "out", true);
    Pool2dShape s = pool_shape(x, y, kernel, stride, padding, Pair{1, 1}, op);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::avg_pool2d_forward(s, x.data<T>(), y.data<T>(), count_include_pad);
    });
  });
  m.def("avg_pool2d_backward", [](py::handle gy_, py::handle gx_, Pair kernel, Pair stride, Pair padding,
                                  bool count_include_pad) {
    const char* op = "avg_pool2d_backward";
    Array gy = as_array(gy_, op, "grad_out"), gx = as_array(gx_, op, "grad_input", true);
    Pool2dShape s = pool_shape(gx, gy, kernel, stride, padding, Pair{1, 1}, op);
    dispatch_float(gy, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::avg_pool2d_backward(s, gy.data<T>(), gx.data<T>(), count_include_pad);
    });
  });
}

}  // namespace ember
