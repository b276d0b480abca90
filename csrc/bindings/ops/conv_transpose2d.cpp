// Bindings of conv_transpose2d: x (N, K, P, Q), w (K, C/groups, R, S), optional b (C),
// y (N, C, H, W). The geometry arrives as (h, w) pairs; H, W are read from y and must be
// PyTorch's size (P-1)*stride - 2*padding + dilation*(R-1) + 1 + output_padding, at least 1,
// with 0 <= output_padding < max(stride, dilation), so the output padding is implied by y. The
// checks repeat the Python layer's in overflow-checked arithmetic, so no call can make a
// kernel read or write outside its arrays.
#include <pybind11/stl.h>

#include <algorithm>
#include <array>

#include "bindings/array.h"
#include "bindings/checked.h"
#include "bindings/conv_args.h"

namespace ember {
namespace {

using Pair = std::array<int64_t, 2>;

std::string pair_str(const Pair& p) { return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ")"; }

// Whether `out` (>= 1) is the transposed size of `in` for some output padding in [0, max(st, dil)).
bool output_fits(int64_t in, int64_t out, int64_t k, int64_t st, int64_t pad, int64_t dil, const char* op) {
  const int64_t span = checked_mul(checked_add(in, -1, op, "input - 1"), st, op, "(input - 1) * stride");
  const int64_t kernel = checked_add(checked_mul(dil, k - 1, op, "dilation * (kernel - 1)"), 1, op, "dilated kernel");
  const int64_t base = checked_add(checked_add(span, kernel, op, "output size"),
                                   -checked_mul(pad, 2, op, "padding * 2"), op, "output size");
  const int64_t extra = checked_add(out, checked_mul(base, -1, op, "output size"), op, "output padding");
  return out >= 1 && extra >= 0 && extra < std::max(st, dil);
}

Conv2dShape transposed_shape(const Array& x, const Array& w, const Array& y, const Pair& stride, const Pair& padding,
                             const Pair& dilation, int64_t groups, const char* op) {
  check_ndim(x, 4, op);
  check_ndim(w, 4, op);
  check_ndim(y, 4, op);
  check_same_dtype(x, w, op);
  check_same_dtype(x, y, op);
  // the conv2d being transposed: its input is y, its output x
  Conv2dShape s{y.dim(0), y.dim(1), y.dim(2), y.dim(3), x.dim(1), w.dim(2), w.dim(3), x.dim(2), x.dim(3),
                stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1], groups};
  auto shapes = [&] { return "input " + shape_str(x) + ", weight " + shape_str(w) + ", output " + shape_str(y); };
  check(stride[0] >= 1 && stride[1] >= 1, op, [&] { return "stride must be positive, got " + pair_str(stride); });
  check(dilation[0] >= 1 && dilation[1] >= 1, op,
        [&] { return "dilation must be positive, got " + pair_str(dilation); });
  check(padding[0] >= 0 && padding[1] >= 0, op,
        [&] { return "padding must be non-negative, got " + pair_str(padding); });
  check(groups >= 1 && s.K % groups == 0, op, [&] {
    return "groups=" + std::to_string(groups) + " must divide the input channels: " + shapes();
  });
  check(w.dim(0) == s.K, op, [&] {
    return "expected input with " + std::to_string(w.dim(0)) + " channels (weight " + shape_str(w) + "), got " +
           shape_str(x);
  });
  const int64_t channels = checked_mul(w.dim(1), groups, op, "weight channels * groups");
  check(x.dim(0) == s.N && s.C == channels, op, [&] { return "output does not fit: " + shapes(); });
  check(s.R >= 1 && s.S >= 1, op, [&] { return "empty kernel: " + shapes(); });
  check(output_fits(s.P, s.H, s.R, s.stride_h, s.pad_h, s.dil_h, op) &&
            output_fits(s.Q, s.W, s.S, s.stride_w, s.pad_w, s.dil_w, op),
        op, [&] {
          return "output size not given by the geometry (or output padding not below max(stride, dilation)): " +
                 shapes() + ", stride " + pair_str(stride) + ", padding " + pair_str(padding) + ", dilation " +
                 pair_str(dilation);
        });
  check_window_reach(s.H, s.pad_h, s.P, s.R, s.stride_h, s.dil_h, op);
  check_window_reach(s.W, s.pad_w, s.Q, s.S, s.stride_w, s.dil_w, op);
  return s;
}

}  // namespace

void bind_conv_transpose2d(py::module_& m) {
  m.def("conv_transpose2d_forward", [](py::handle x_, py::handle w_, py::handle b_, py::handle y_, Pair stride,
                                       Pair padding, Pair dilation, int64_t groups) {
    const char* op = "conv_transpose2d_forward";
    Array x = as_array(x_, op, "input"), w = as_array(w_, op, "weight"), y = as_array(y_, op, "out", true);
    Conv2dShape s = transposed_shape(x, w, y, stride, padding, dilation, groups, op);
    Array b = optional_bias(b_, op, "bias", s.C, x, false);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::conv_transpose2d_forward(s, x.data<T>(), w.data<T>(), b.data<T>(), y.data<T>());
    });
  });

  m.def("conv_transpose2d_backward", [](py::handle x_, py::handle w_, py::handle gy_, py::handle gx_, py::handle gw_,
                                        py::handle gb_, Pair stride, Pair padding, Pair dilation, int64_t groups) {
    const char* op = "conv_transpose2d_backward";
    Array x = as_array(x_, op, "input"), w = as_array(w_, op, "weight"), gy = as_array(gy_, op, "grad_out");
    Conv2dShape s = transposed_shape(x, w, gy, stride, padding, dilation, groups, op);
    Array gx = optional_like(gx_, op, "grad_input", x), gw = optional_like(gw_, op, "grad_weight", w);
    Array gb = optional_bias(gb_, op, "grad_bias", s.C, x, true);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::conv_transpose2d_backward(s, x.data<T>(), w.data<T>(), gy.data<T>(), gx.data<T>(), gw.data<T>(),
                                      gb.data<T>());
    });
  });
}

}  // namespace ember
