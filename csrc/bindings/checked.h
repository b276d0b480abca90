// Checked int64 arithmetic for the bindings' shape and geometry checks. Sizes from
// arrays are bounded by their memory, but scalars from Python (strides, paddings,
// dilations, kernel sizes, groups) are any int64: every product or sum that mixes
// them goes through these, so an overflow raises ValueError naming the values
// instead of wrapping into a check that passes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "bindings/array.h"

namespace ember {

inline int64_t checked_mul(int64_t a, int64_t b, const char* op, const char* what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    check(false, op, std::string(what) + ": " + std::to_string(a) + " * " + std::to_string(b) + " overflows int64");
  return r;
}

inline int64_t checked_add(int64_t a, int64_t b, const char* op, const char* what) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    check(false, op, std::string(what) + ": " + std::to_string(a) + " + " + std::to_string(b) + " overflows int64");
  return r;
}

// The product of sizes, each >= 0 (a negative one raises).
inline int64_t checked_numel(const std::vector<int64_t>& shape, const char* op, const char* what) {
  int64_t n = 1;
  for (auto s : shape) {
    if (s < 0) check(false, op, std::string(what) + ": negative size " + std::to_string(s));
    n = checked_mul(n, s, op, what);
  }
  return n;
}

// One spatial axis of a sliding window, as PyTorch computes it: input `in` padded by
// `pad_total` in all, window k dilated by dil, stride st (all validated >= 0 / >= 1 by
// the caller). span = in + pad_total - dil*(k-1) - 1 is where the last window may start;
// negative: the window does not fit.
struct WindowAxis {
  int64_t span;  // < 0 when the dilated window is larger than the padded input
  int64_t st;
  int64_t floor_out() const { return span / st + 1; }
  int64_t ceil_out() const { return span / st + (span % st != 0) + 1; }
};

inline WindowAxis window_axis(int64_t in, int64_t pad_total, int64_t k, int64_t st, int64_t dil, const char* op) {
  const int64_t extent = checked_add(checked_mul(dil, k - 1, op, "dilation * (kernel - 1)"), 1, op, "dilated kernel");
  return {checked_add(in, pad_total, op, "padded input") - extent, st};
}

// The kernels' index arithmetic runs up to one window past the last (the CUDA conv2d picks
// its index width from in + pad + out * st + k * dil): that sum must fit int64 too.
inline void check_window_reach(int64_t in, int64_t pad, int64_t out, int64_t k, int64_t st, int64_t dil,
                               const char* op) {
  const int64_t start = checked_add(in, pad, op, "input + padding");
  const int64_t past = checked_add(checked_mul(out, st, op, "output size * stride"),
                                   checked_mul(k, dil, op, "kernel * dilation"), op, "window reach");
  checked_add(start, past, op, "window reach");
}

}  // namespace ember
