// Bindings of embedding: weight (num, dim) float, indices (n,) int64, out / grad_out (n, dim).
// The Python layer flattens the index tensor. A bad index raises IndexError from the kernel,
// which validates every index before it reads or writes anything.
#include "bindings/array.h"

namespace ember {

static void check_indices_arg(const Array& idx, const char* op) {
  check_ndim(idx, 1, op);
  check_dtype(idx, DType::i64, op);
}

void bind_embedding(py::module_& m) {
  m.def("embedding_forward", [](py::handle w_, py::handle idx_, py::handle out_) {
    const char* op = "embedding_forward";
    Array w = as_array(w_, op, "weight"), idx = as_array(idx_, op, "indices"), out = as_array(out_, op, "out", true);
    check_ndim(w, 2, op);
    check_indices_arg(idx, op);
    check(out.shape == std::vector<int64_t>{idx.dim(0), w.dim(1)}, op, [&] {
      return "'out' " + shape_str(out) + " must be (n, dim) for 'indices' " + shape_str(idx) + " and 'weight' " +
             shape_str(w);
    });
    check_same_dtype(w, out, op);
    dispatch_float(w, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::embedding_forward(w.data<T>(), idx.data<int64_t>(), out.data<T>(), idx.dim(0), w.dim(0), w.dim(1));
    });
  });
  m.def("embedding_backward", [](py::handle idx_, py::handle gy_, py::handle gw_, int64_t padding_idx) {
    const char* op = "embedding_backward";
    Array idx = as_array(idx_, op, "indices"), gy = as_array(gy_, op, "grad_out"),
          gw = as_array(gw_, op, "grad_weight", true);
    check_indices_arg(idx, op);
    check_ndim(gy, 2, op);
    check_ndim(gw, 2, op);
    check(gy.dim(0) == idx.dim(0) && gy.dim(1) == gw.dim(1), op, [&] {
      return "'grad_out' " + shape_str(gy) + " must be (n, dim) for 'indices' " + shape_str(idx) +
             " and 'grad_weight' " + shape_str(gw);
    });
    check(padding_idx >= -1 && padding_idx < gw.dim(0), op, [&] {
      return "padding_idx " + std::to_string(padding_idx) + " is out of range for " + std::to_string(gw.dim(0)) +
             " embeddings (use -1 for none)";
    });
    check_same_dtype(gy, gw, op);
    dispatch_float(gy, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::embedding_backward(idx.data<int64_t>(), gy.data<T>(), gw.data<T>(), idx.dim(0), gw.dim(0), gw.dim(1),
                               padding_idx);
    });
  });
}

}  // namespace ember
