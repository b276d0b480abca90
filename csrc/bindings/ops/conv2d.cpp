// Bindings of conv2d: x (N, C, H, W), w (K, C/groups, R, S), optional b (K), y (N, K, P, Q).
// The geometry arrives as (h, w) pairs; P, Q are read from y and must be the size PyTorch
// computes. The checks repeat the Python layer's (channel counts, kernel vs padded input,
// positive strides) in overflow-checked arithmetic, so no call can make a kernel read or
// write outside its arrays.
#include <pybind11/stl.h>

#include <array>

#include "bindings/array.h"
#include "bindings/checked.h"
#include "bindings/conv_args.h"

namespace ember {
namespace {

using Pair = std::array<int64_t, 2>;

std::string pair_str(const Pair& p) { return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ")"; }

Conv2dShape conv_shape(const Array& x, const Array& w, const Array& y, const Pair& stride, const Pair& padding,
                       const Pair& dilation, int64_t groups, const char* op) {
  check_ndim(x, 4, op);
  check_ndim(w, 4, op);
  check_ndim(y, 4, op);
  check_same_dtype(x, w, op);
  check_same_dtype(x, y, op);
  Conv2dShape s{x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2), w.dim(3), y.dim(2), y.dim(3),
                stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1], groups};
  auto shapes = [&] { return "input " + shape_str(x) + ", weight " + shape_str(w) + ", output " + shape_str(y); };
  check(stride[0] >= 1 && stride[1] >= 1, op, [&] { return "stride must be positive, got " + pair_str(stride); });
  check(dilation[0] >= 1 && dilation[1] >= 1, op,
        [&] { return "dilation must be positive, got " + pair_str(dilation); });
  check(padding[0] >= 0 && padding[1] >= 0, op,
        [&] { return "padding must be non-negative, got " + pair_str(padding); });
  check(groups >= 1 && s.C % groups == 0 && s.K % groups == 0, op, [&] {
    return "groups=" + std::to_string(groups) + " must divide the input and output channels: " + shapes();
  });
  const int64_t channels = checked_mul(w.dim(1), groups, op, "weight channels * groups");
  check(channels == s.C, op, [&] {
    return "expected input with " + std::to_string(channels) + " channels (weight " + shape_str(w) +
           ", groups=" + std::to_string(groups) + "), got " + shape_str(x);
  });
  check(s.R >= 1 && s.S >= 1, op, [&] { return "empty kernel: " + shapes(); });
  check(y.dim(0) == s.N && y.dim(1) == s.K, op, [&] { return "output does not fit: " + shapes(); });
  // PyTorch's output size with the padding on both sides, or with one more row/column at
  // the bottom/right ("same" with an odd total). As in PyTorch, a window may lie wholly in
  // the padding (its output is the bias): every kernel tests each tap against the image.
  auto fits = [&](int64_t in, int64_t out, int64_t k, int64_t st, int64_t pad, int64_t dil) {
    const int64_t both = checked_mul(pad, 2, op, "padding * 2");
    for (int64_t total : {both, checked_add(both, 1, op, "padding")}) {
      const WindowAxis a = window_axis(in, total, k, st, dil, op);
      if (a.span >= 0 && out == a.floor_out()) return true;
    }
    return false;
  };
  check(fits(s.H, s.P, s.R, s.stride_h, s.pad_h, s.dil_h) && fits(s.W, s.Q, s.S, s.stride_w, s.pad_w, s.dil_w), op,
        [&] {
          return "kernel (dilated) larger than the padded input, or output size not given by the geometry: " +
                 shapes() + ", stride " + pair_str(stride) + ", padding " + pair_str(padding) + ", dilation " +
                 pair_str(dilation);
        });
  check_window_reach(s.H, s.pad_h, s.P, s.R, s.stride_h, s.dil_h, op);
  check_window_reach(s.W, s.pad_w, s.Q, s.S, s.stride_w, s.dil_w, op);
  return s;
}

}  // namespace

void bind_conv2d(py::module_& m) {
  m.def("conv2d_forward", [](py::handle x_, py::handle w_, py::handle b_, py::handle y_, Pair stride, Pair padding,
                             Pair dilation, int64_t groups) {
    const char* op = "conv2d_forward";
    Array x = as_array(x_, op, "input"), w = as_array(w_, op, "weight"), y = as_array(y_, op, "out", true);
    Conv2dShape s = conv_shape(x, w, y, stride, padding, dilation, groups, op);
    Array b = optional_bias(b_, op, "bias", s.K, x, false);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::conv2d_forward(s, x.data<T>(), w.data<T>(), b.data<T>(), y.data<T>());
    });
  });

  m.def("conv2d_backward", [](py::handle x_, py::handle w_, py::handle gy_, py::handle gx_, py::handle gw_,
                              py::handle gb_, Pair stride, Pair padding, Pair dilation, int64_t groups) {
    const char* op = "conv2d_backward";
    Array x = as_array(x_, op, "input"), w = as_array(w_, op, "weight"), gy = as_array(gy_, op, "grad_out");
    Conv2dShape s = conv_shape(x, w, gy, stride, padding, dilation, groups, op);
    Array gx = optional_like(gx_, op, "grad_input", x), gw = optional_like(gw_, op, "grad_weight", w);
    Array gb = optional_bias(gb_, op, "grad_bias", s.K, x, true);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::conv2d_backward(s, x.data<T>(), w.data<T>(), gy.data<T>(), gx.data<T>(), gw.data<T>(), gb.data<T>());
    });
  });
}

}  // namespace ember
