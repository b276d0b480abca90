// PyTorch's map from an output index of one axis to its input taps (upsample_nearest2d and
// upsample_bilinear2d on the CPU, aten/src/ATen/native/UpSample.h), shared by
// csrc/cpu/interpolate.cpp and csrc/cuda/interpolate.cu so both pick the same taps.
//   nearest   i = min(floor(o * r), in - 1) in float, r = 1/scale or in/out; out == in is
//             the identity and out == 2 in is o / 2, as PyTorch's shortcuts.
//   bilinear  src = r (o + 1/2) - 1/2 clamped at 0 (align_corners: src = o (in-1)/(out-1)),
//             taps floor(src) and the next one (the same at the edge), weights 1 - l and l;
//             out == in is the identity. In T = float for float32 data, as PyTorch's opmath.
// Every index is clamped into [0, in), whatever the scale (a NaN ratio gives tap 0).
#pragma once
#include <cstdint>

#if defined(EMBER_BACKEND_CUDA)
#define EMBER_INTERP_HD __host__ __device__
#else
#define EMBER_INTERP_HD
#endif

namespace ember {

template <typename T>
struct InterpTaps {
  int64_t i0, i1;
  T l0, l1;
};

EMBER_INTERP_HD inline int64_t interp_clamp_index(double v, int64_t in) {
  if (!(v > 0)) return 0;  // also a NaN
  return v < double(in - 1) ? int64_t(v) : in - 1;  // int64_t() is floor for v > 0
}

EMBER_INTERP_HD inline int64_t nearest_tap(int64_t o, int64_t in, int64_t out, double scale) {
  if (out == in) return o;
  if (out == 2 * in) return o >> 1;
  const float r = scale > 0 ? float(1.0 / scale) : float(in) / float(out);
  return interp_clamp_index(double(float(o) * r), in);
}

template <typename T>
EMBER_INTERP_HD inline InterpTaps<T> linear_taps(int64_t o, int64_t in, int64_t out, bool align_corners,
                                                 double scale) {
  if (out == in) return {o, o, T(1), T(0)};
  T src;
  if (align_corners) {
    const T r = out > 1 ? T(in - 1) / T(out - 1) : T(0);
    src = r * T(o);
  } else {
    const T r = scale > 0 ? T(1.0 / scale) : T(in) / T(out);
    src = r * (T(o) + T(0.5)) - T(0.5);
    src = src < T(0) ? T(0) : src;
  }
  const int64_t i = interp_clamp_index(double(src), in);
  T l = src - T(i);
  l = l > T(0) ? (l < T(1) ? l : T(1)) : T(0);  // a NaN weight becomes 0
  return {i, i < in - 1 ? i + 1 : i, T(1) - l, l};
}

template <typename T>
EMBER_INTERP_HD inline InterpTaps<T> interp_taps(int64_t o, int64_t in, int64_t out, bool bilinear,
                                                 bool align_corners, double scale) {
  if (bilinear) return linear_taps<T>(o, in, out, align_corners, scale);
  const int64_t i = nearest_tap(o, in, out, scale);
  return {i, i, T(1), T(0)};
}

}  // namespace ember
