// Argument checks shared by every binding.
#include "bindings/array.h"

namespace ember {

int64_t Array::numel() const {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

const char* dtype_name(DType d) {
  switch (d) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i64: return "int64";
    case DType::b8: return "bool";
    case DType::bf16: return "bfloat16";
    case DType::f16: return "float16";
    default: return "unsupported";
  }
}

std::string dtype_name(const Array& a) {
  return a.dtype == DType::other && !a.other_dtype.empty() ? a.other_dtype : dtype_name(a.dtype);
}

std::string shape_str(const Array& a) {
  std::string s = "(";
  for (int i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape[i]);
  return s + (a.ndim() == 1 ? ",)" : ")");
}

void check(bool cond, const char* op, const std::string& message) {
  if (!cond) throw py::value_error(std::string("[") + op + "] " + message);
}

// Messages are built only on failure: these checks run on every kernel call.
void check_ndim(const Array& a, int ndim, const char* op) {
  if (a.ndim() != ndim) check(false, op, "'" + a.name + "' must be " + std::to_string(ndim) + "-D, got shape " + shape_str(a));
}

void check_same_shape(const Array& a, const Array& b, const char* op) {
  if (a.shape != b.shape)
    check(false, op, "'" + a.name + "' " + shape_str(a) + " and '" + b.name + "' " + shape_str(b) +
                         " must have the same shape");
}

void check_same_dtype(const Array& a, const Array& b, const char* op) {
  if (a.dtype != b.dtype || (a.dtype == DType::other && a.other_dtype != b.other_dtype))
    throw py::type_error(std::string("[") + op + "] '" + a.name + "' is " + dtype_name(a) + " but '" +
                         b.name + "' is " + dtype_name(b));
}

void check_dtype(const Array& a, DType d, const char* op) {
  if (a.dtype != d)
    throw py::type_error(std::string("[") + op + "] '" + a.name + "' must be " + dtype_name(d) + ", got " +
                         dtype_name(a));
}

}  // namespace ember
