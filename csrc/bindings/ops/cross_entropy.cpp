// Bindings of the fused cross-entropy: logits (N, C) float, labels (N,) int64,
// per-row loss (N,). The reduction over rows is the Python layer's.
#include "bindings/array.h"

namespace ember {

static void check_logits_labels(const Array& x, const Array& labels, const char* op) {
  check_ndim(x, 2, op);
  check_ndim(labels, 1, op);
  check_dtype(labels, DType::i64, op);
  check(labels.dim(0) == x.dim(0), op,
        [&] { return "'labels' " + shape_str(labels) + " must have one label per row of 'logits' " + shape_str(x); });
  check(x.dim(1) > 0 || x.dim(0) == 0, op, [&] { return "'logits' " + shape_str(x) + " has no classes"; });
}

void bind_cross_entropy(py::module_& m) {
  m.def("cross_entropy_forward", [](py::handle x_, py::handle labels_, py::handle loss_) {
    const char* op = "cross_entropy_forward";
    Array x = as_array(x_, op, "logits"), labels = as_array(labels_, op, "labels"),
          loss = as_array(loss_, op, "loss", true);
    check_logits_labels(x, labels, op);
    check(loss.shape == std::vector<int64_t>{x.dim(0)}, op,
          [&] { return "'loss' " + shape_str(loss) + " must be (N,) for 'logits' " + shape_str(x); });
    check_same_dtype(x, loss, op);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::cross_entropy_forward(x.data<T>(), labels.data<int64_t>(), loss.data<T>(), x.dim(0), x.dim(1));
    });
  });
  m.def("cross_entropy_backward", [](py::handle x_, py::handle labels_, py::handle gloss_, py::handle gx_) {
    const char* op = "cross_entropy_backward";
    Array x = as_array(x_, op, "logits"), labels = as_array(labels_, op, "labels"),
          gloss = as_array(gloss_, op, "grad_loss"), gx = as_array(gx_, op, "grad_logits", true);
    check_logits_labels(x, labels, op);
    check(gloss.shape == std::vector<int64_t>{x.dim(0)}, op,
          [&] { return "'grad_loss' " + shape_str(gloss) + " must be (N,) for 'logits' " + shape_str(x); });
    check_same_shape(x, gx, op);
    check_same_dtype(x, gloss, op);
    check_same_dtype(x, gx, op);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::cross_entropy_backward(x.data<T>(), labels.data<int64_t>(), gloss.data<T>(), gx.data<T>(), x.dim(0),
                                   x.dim(1));
    });
  });
}

}  // namespace ember
