// Bindings of cast: cast_forward(x, out) and cast_backward(grad_out, grad_input) each convert
// item by item between two arrays of one shape, the direction read from their dtypes: one
// float32/float64, the other bfloat16/float16 (either way round).
#include "bindings/array.h"

namespace ember {
namespace {

bool is_low(DType d) { return d == DType::bf16 || d == DType::f16; }

void convert(const char* op, py::handle src_, py::handle dst_, const char* src_name, const char* dst_name) {
  Array src = as_array(src_, op, src_name), dst = as_array(dst_, op, dst_name, true);
  check_same_shape(src, dst, op);
  const bool down = is_low(dst.dtype);
  const Array &wide = down ? src : dst, &low = down ? dst : src;
  if (!is_low(low.dtype))
    throw py::type_error(std::string("[") + op + "] one of '" + src.name + "' (" + dtype_name(src) + ") and '" +
                         dst.name + "' (" + dtype_name(dst) + ") must be bfloat16 or float16");
  const LowFloat kind = low.dtype == DType::bf16 ? LowFloat::bf16 : LowFloat::f16;
  dispatch_float(wide, op, [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release nogil;
    if (down)
      kern::cast_to_low(src.data<T>(), dst.data<uint16_t>(), src.numel(), kind);
    else
      kern::cast_from_low(src.data<uint16_t>(), dst.data<T>(), src.numel(), kind);
  });
}

}  // namespace

void bind_cast(py::module_& m) {
  m.def("cast_forward", [](py::handle x, py::handle out) { convert("cast_forward", x, out, "x", "out"); });
  m.def("cast_backward",
        [](py::handle gy, py::handle gx) { convert("cast_backward", gy, gx, "grad_out", "grad_input"); });
}

}  // namespace ember
