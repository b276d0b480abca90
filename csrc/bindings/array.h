// What a binding sees of an array argument, whatever module holds it: NumPy
// arrays for _cpu and _cuda_emu (array_host.cpp), CuPy arrays for _cuda
// (array_cuda.cpp). Checks raise ValueError/TypeError naming the op, the
// argument and the shapes; they run before any kernel does.
#pragma once
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels.h"

namespace ember {

namespace py = pybind11;
namespace kern = ::ember::EMBER_KERNEL_NS;

// bf16 (ml_dtypes.bfloat16) and f16 reach only the cast bindings; dispatch_float refuses them.
enum class DType { f32, f64, i64, b8, bf16, f16, other };

struct Array {
  void* ptr = nullptr;
  std::vector<int64_t> shape;
  DType dtype = DType::other;
  std::string other_dtype;  // the array's own dtype name when dtype is other, for messages
  std::string name;  // the argument's name, for messages
  std::shared_ptr<void> guard;  // cuda-emu: registers the buffer for bounds checks while the call runs

  int ndim() const { return int(shape.size()); }
  int64_t numel() const;
  int64_t dim(int i) const { return shape[i < 0 ? i + ndim() : i]; }
  template <typename T> T* data() const { return static_cast<T*>(ptr); }
};

// Reads a C-contiguous array of this module's device: TypeError for anything
// that is not one (another device, not an array), ValueError if not contiguous.
Array as_array(py::handle obj, const char* op, const char* name, bool writable = false);

const char* dtype_name(DType d);
// a's dtype as its array module names it (float16, uint8, ...), for messages.
std::string dtype_name(const Array& a);
std::string shape_str(const Array& a);

// Raises ValueError "[op] message" unless cond. On hot paths pass a callable
// returning the message, so that it is only built on failure.
void check(bool cond, const char* op, const std::string& message);
template <class Message, class = decltype(std::declval<Message>()())>
void check(bool cond, const char* op, Message&& message) {
  if (!cond) check(false, op, message());
}
void check_ndim(const Array& a, int ndim, const char* op);
void check_same_shape(const Array& a, const Array& b, const char* op);
void check_same_dtype(const Array& a, const Array& b, const char* op);
void check_dtype(const Array& a, DType d, const char* op);

// Calls f(T{}) with T = float or double for a's dtype; TypeError otherwise.
template <class F>
void dispatch_float(const Array& a, const char* op, F&& f) {
  switch (a.dtype) {
    case DType::f32: f(float{}); break;
    case DType::f64: f(double{}); break;
    default:
      throw py::type_error(std::string("[") + op + "] not implemented for dtype " + dtype_name(a) +
                           " (argument '" + a.name + "'); use float32 or float64");
  }
}

}  // namespace ember
