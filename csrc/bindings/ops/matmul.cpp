// Bindings of the batched matmul. Arrays are 3-D (batch, rows, cols), or 2-D
// for a batch of one; a batch of 1 in `a` or `b` broadcasts against out's batch
// (stride 0). The Python layer folds leading dimensions into one batch axis.
#include "bindings/array.h"
#include "bindings/checked.h"

namespace ember {

struct MatmulShape {
  int64_t batch, M, N, K, strideA, strideB;
};

// A 2-D matrix is a batch of one.
static Array batched(Array x) {
  if (x.ndim() == 2) x.shape.insert(x.shape.begin(), 1);
  return x;
}

static MatmulShape matmul_shape(Array& a, Array& b, Array& c, bool ta, bool tb, const char* op) {
  a = batched(std::move(a)), b = batched(std::move(b)), c = batched(std::move(c));
  check_ndim(a, 3, op);
  check_ndim(b, 3, op);
  check_ndim(c, 3, op);
  int64_t M = ta ? a.dim(2) : a.dim(1), K = ta ? a.dim(1) : a.dim(2);
  int64_t Kb = tb ? b.dim(2) : b.dim(1), N = tb ? b.dim(1) : b.dim(2);
  auto shapes = [&] {
    return "'a' " + shape_str(a) + (ta ? "^T" : "") + " @ 'b' " + shape_str(b) + (tb ? "^T" : "");
  };
  check(K == Kb, op, [&] { return "inner dimensions differ: " + shapes(); });
  int64_t batch = c.dim(0);
  check(c.dim(1) == M && c.dim(2) == N, op, [&] { return "'out' " + shape_str(c) + " does not fit " + shapes(); });
  check(a.dim(0) == batch || a.dim(0) == 1, op,
        [&] { return "batch of " + shapes() + " does not match 'out' " + shape_str(c); });
  check(b.dim(0) == batch || b.dim(0) == 1, op,
        [&] { return "batch of " + shapes() + " does not match 'out' " + shape_str(c); });
  check_same_dtype(a, b, op);
  check_same_dtype(a, c, op);
  return {batch, M, N, K, a.dim(0) == 1 ? 0 : checked_mul(M, K, op, "batch stride of 'a'"),
          b.dim(0) == 1 ? 0 : checked_mul(K, N, op, "batch stride of 'b'")};
}

void bind_matmul(py::module_& m) {
  m.def(
      "matmul_forward",
      [](py::handle a_, py::handle b_, py::handle c_, bool ta, bool tb, bool accumulate) {
        const char* op = "matmul_forward";
        Array a = as_array(a_, op, "a"), b = as_array(b_, op, "b"), c = as_array(c_, op, "out", true);
        MatmulShape s = matmul_shape(a, b, c, ta, tb, op);
        dispatch_float(a, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          kern::matmul_forward(s.batch, s.M, s.N, s.K, a.data<T>(), s.strideA, ta, b.data<T>(), s.strideB, tb,
                               c.data<T>(), accumulate);
        });
      },
      py::arg("a"), py::arg("b"), py::arg("out"), py::arg("trans_a") = false, py::arg("trans_b") = false,
      py::arg("accumulate") = false);

  m.def(
      "matmul_backward",
      [](py::handle a_, py::handle b_, py::handle gc_, py::object ga_, py::object gb_, bool ta, bool tb) {
        const char* op = "matmul_backward";
        Array a = as_array(a_, op, "a"), b = as_array(b_, op, "b"), gc = as_array(gc_, op, "grad_out");
        MatmulShape s = matmul_shape(a, b, gc, ta, tb, op);
        Array ga, gb;
        if (!ga_.is_none()) {
          ga = batched(as_array(ga_, op, "grad_a", true));
          check_same_shape(a, ga, op);
          check_same_dtype(a, ga, op);
        }
        if (!gb_.is_none()) {
          gb = batched(as_array(gb_, op, "grad_b", true));
          check_same_shape(b, gb, op);
          check_same_dtype(b, gb, op);
        }
        dispatch_float(a, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          kern::matmul_backward(s.batch, s.M, s.N, s.K, a.data<T>(), s.strideA, ta, b.data<T>(), s.strideB, tb,
                                gc.data<T>(), ga.data<T>(), gb.data<T>());
        });
      },
      py::arg("a"), py::arg("b"), py::arg("grad_out"), py::arg("grad_a"), py::arg("grad_b"),
      py::arg("trans_a") = false, py::arg("trans_b") = false);
}

}  // namespace ember
