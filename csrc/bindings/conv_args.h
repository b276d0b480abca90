// The optional arguments conv2d's and conv_transpose2d's bindings share: a bias-shaped (n,)
// array and gradient buffers shaped like their operand, each None or checked.
#pragma once
#include <string>

#include "bindings/array.h"

namespace ember {

// None, or an (n,) array of like's dtype.
inline Array optional_bias(py::handle h, const char* op, const char* name, int64_t n, const Array& like,
                           bool writable) {
  Array a;
  if (h.is_none()) return a;
  a = as_array(h, op, name, writable);
  check(a.ndim() == 1 && a.dim(0) == n, op,
        [&] { return std::string(name) + " " + shape_str(a) + " must have shape (" + std::to_string(n) + ",)"; });
  check_same_dtype(like, a, op);
  return a;
}

// None, or a writable array of like's shape and dtype.
inline Array optional_like(py::handle h, const char* op, const char* name, const Array& like) {
  Array a;
  if (h.is_none()) return a;
  a = as_array(h, op, name, true);
  check_same_shape(like, a, op);
  check_same_dtype(like, a, op);
  return a;
}

}  // namespace ember
