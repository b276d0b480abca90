// as_array for modules whose arrays live in host memory (_cpu, _cuda_emu):
// anything with the buffer protocol that is C-contiguous.
#include <pybind11/numpy.h>

#include "bindings/array.h"

#if defined(EMBER_CUDA_EMU)
#include "cuda/emu/runtime.h"
#endif

namespace ember {

// A dtype in non-native byte order would reach the kernels as native numbers: refuse it.
static DType dtype_of(const py::array& arr, const char* op, const char* name) {
  const py::dtype dt = arr.dtype();
  const char kind = dt.kind(), order = dt.byteorder();  // NumPy spells native order '='
  const auto size = dt.itemsize();
  if (order == '<' || order == '>')
    throw py::type_error(std::string("[") + op + "] argument '" + name + "' has dtype '" +
                         std::string(py::str(dt.attr("str"))) +
                         "' in non-native byte order; convert it first (a.astype(a.dtype.newbyteorder('=')))");
  if (kind == 'f' && size == 4) return DType::f32;
  if (kind == 'f' && size == 8) return DType::f64;
  if (kind == 'i' && size == 8) return DType::i64;
  if (kind == 'b') return DType::b8;
  if (kind == 'f' && size == 2) return DType::f16;
  if (kind == 'V' && size == 2 && std::string(py::str(dt)) == "bfloat16") return DType::bf16;  // ml_dtypes
  return DType::other;
}

Array as_array(py::handle obj, const char* op, const char* name, bool writable) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string("[") + op + "] argument '" + name + "' must be a numpy.ndarray, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  auto arr = py::reinterpret_borrow<py::array>(obj);
  Array a;
  a.name = name;
  a.dtype = dtype_of(arr, op, name);
  if (a.dtype == DType::other) a.other_dtype = py::str(arr.dtype());
  a.shape.assign(arr.shape(), arr.shape() + arr.ndim());
  if (!(arr.flags() & py::array::c_style))
    throw py::value_error(std::string("[") + op + "] argument '" + name + "' " + shape_str(a) +
                          " must be C-contiguous");
  if (writable && !arr.writeable())
    throw py::value_error(std::string("[") + op + "] argument '" + name + "' must be writable");
  a.ptr = const_cast<void*>(arr.data());
#if defined(EMBER_CUDA_EMU)
  // kernels' global loads and stores are bounds-checked against registered buffers
  a.guard = std::make_shared<emu::BufferScope>(a.ptr, size_t(arr.nbytes()), std::string(op) + ":" + name);
#endif
  return a;
}

}  // namespace ember
