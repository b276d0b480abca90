// Bindings of scaled dot-product attention. The Python layer makes q, k, v contiguous
// (BH, T, D) and turns any mask into an additive float array addressed by element strides
// (sb, sh, sq) over (b, h, query row) with a contiguous key axis; every offset the kernel can
// form is checked against the mask's size here, so no stride from Python reads out of bounds.
#include <cmath>
#include <string>

#include "bindings/checked.h"

namespace ember {
namespace {

constexpr int64_t kMaxHeadDim = 256;

struct Inputs {
  Array q, k, v, mask;
  AttentionShape s;
};

std::string dims(const Array& a) { return "'" + a.name + "' " + shape_str(a); }

void check_3d_like(const Array& a, const Array& q, const char* op) {
  check_ndim(a, 3, op);
  check_same_dtype(q, a, op);
}

// q, k, v, the mask and the scalars, checked; s filled in.
Inputs read_inputs(const char* op, py::handle q_, py::handle k_, py::handle v_, py::handle mask_, int64_t H,
                   double scale, bool causal, int64_t sb, int64_t sh, int64_t sq, double dropout_p, uint64_t seed) {
  Inputs in{as_array(q_, op, "q"), as_array(k_, op, "k"), as_array(v_, op, "v"), Array{}, {}};
  const Array &q = in.q, &k = in.k, &v = in.v;
  check_ndim(q, 3, op);
  check_3d_like(k, q, op);
  check_3d_like(v, q, op);
  check(k.dim(0) == q.dim(0) && v.dim(0) == q.dim(0), op,
        [&] { return "batch*heads differ: " + dims(q) + ", " + dims(k) + ", " + dims(v); });
  check(k.dim(2) == q.dim(2), op, [&] { return "head dims differ: " + dims(q) + ", " + dims(k); });
  check(v.dim(1) == k.dim(1), op, [&] { return "key lengths differ: " + dims(k) + ", " + dims(v); });
  for (const Array* a : {&q, &v})
    check(a->dim(2) >= 1 && a->dim(2) <= kMaxHeadDim, op, [&] {
      return "head dim of " + dims(*a) + " must be in [1, " + std::to_string(kMaxHeadDim) + "]";
    });
  check(H >= 1 && q.dim(0) % H == 0, op,
        [&] { return "heads H=" + std::to_string(H) + " must divide batch*heads of " + dims(q); });
  check(std::isfinite(scale), op, [&] { return "scale must be finite, got " + std::to_string(scale); });
  check(dropout_p >= 0 && dropout_p < 1, op,
        [&] { return "dropout_p must be in [0, 1), got " + std::to_string(dropout_p); });
  check(sb >= 0 && sh >= 0 && sq >= 0, op, [&] {
    return "mask strides must be >= 0, got (" + std::to_string(sb) + ", " + std::to_string(sh) + ", " +
           std::to_string(sq) + ")";
  });
  const int64_t BH = q.dim(0), Tq = q.dim(1), Tk = k.dim(1);
  in.s = AttentionShape{BH, H, Tq, Tk, q.dim(2), v.dim(2), scale, causal, sb, sh, sq, dropout_p, seed};
  if (!mask_.is_none()) {
    in.mask = as_array(mask_, op, "mask");
    check_same_dtype(q, in.mask, op);
    if (BH > 0 && Tq > 0 && Tk > 0) {
      // the largest offset the kernel reads: b = BH/H - 1, h = H - 1, i = Tq - 1, j = Tk - 1
      int64_t last = checked_mul(BH / H - 1, sb, op, "mask offset");
      last = checked_add(last, checked_mul(H - 1, sh, op, "mask offset"), op, "mask offset");
      last = checked_add(last, checked_mul(Tq - 1, sq, op, "mask offset"), op, "mask offset");
      last = checked_add(last, Tk - 1, op, "mask offset");
      check(last < in.mask.numel(), op, [&] {
        return "mask " + shape_str(in.mask) + " too small for strides (" + std::to_string(sb) + ", " +
               std::to_string(sh) + ", " + std::to_string(sq) + ") over " + dims(q) + " and " + dims(k);
      });
    }
  }
  return in;
}

void check_out(const Array& a, const Array& like, const std::vector<int64_t>& shape, const char* op) {
  check_same_dtype(like, a, op);
  check(a.shape == shape, op, [&] {
    Array want;
    want.shape = shape;
    return dims(a) + " must be " + shape_str(want);
  });
}

}  // namespace

void bind_attention(py::module_& m) {
  m.def("attention_forward", [](py::handle q_, py::handle k_, py::handle v_, py::handle mask_, py::handle out_,
                                py::handle lse_, int64_t H, double scale, bool causal, int64_t sb, int64_t sh,
                                int64_t sq, double dropout_p, uint64_t seed) {
    const char* op = "attention_forward";
    Inputs in = read_inputs(op, q_, k_, v_, mask_, H, scale, causal, sb, sh, sq, dropout_p, seed);
    const AttentionShape& s = in.s;
    Array out = as_array(out_, op, "out", true), lse = as_array(lse_, op, "lse", true);
    check_out(out, in.q, {s.BH, s.Tq, s.Dv}, op);
    check_out(lse, in.q, {s.BH, s.Tq}, op);
    dispatch_float(in.q, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::attention_forward(s, in.q.data<T>(), in.k.data<T>(), in.v.data<T>(), in.mask.data<T>(), out.data<T>(),
                              lse.data<T>());
    });
  });
  m.def("attention_backward", [](py::handle q_, py::handle k_, py::handle v_, py::handle mask_, py::handle out_,
                                 py::handle lse_, py::handle gout_, py::handle gq_, py::handle gk_, py::handle gv_,
                                 int64_t H, double scale, bool causal, int64_t sb, int64_t sh, int64_t sq,
                                 double dropout_p, uint64_t seed) {
    const char* op = "attention_backward";
    Inputs in = read_inputs(op, q_, k_, v_, mask_, H, scale, causal, sb, sh, sq, dropout_p, seed);
    const AttentionShape& s = in.s;
    Array out = as_array(out_, op, "out"), lse = as_array(lse_, op, "lse"), gout = as_array(gout_, op, "grad_out");
    Array gq = as_array(gq_, op, "grad_q", true), gk = as_array(gk_, op, "grad_k", true),
          gv = as_array(gv_, op, "grad_v", true);
    check_out(out, in.q, {s.BH, s.Tq, s.Dv}, op);
    check_out(gout, in.q, {s.BH, s.Tq, s.Dv}, op);
    check_out(lse, in.q, {s.BH, s.Tq}, op);
    check_out(gq, in.q, in.q.shape, op);
    check_out(gk, in.q, in.k.shape, op);
    check_out(gv, in.q, in.v.shape, op);
    dispatch_float(in.q, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::attention_backward(s, in.q.data<T>(), in.k.data<T>(), in.v.data<T>(), in.mask.data<T>(),
                               out.data<T>(), lse.data<T>(), gout.data<T>(), gq.data<T>(), gk.data<T>(),
                               gv.data<T>());
    });
  });
}

}  // namespace ember
