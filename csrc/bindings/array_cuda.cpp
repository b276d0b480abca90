// as_array for the _cuda module: arrays in GPU memory, read through the CUDA Array
// Interface (__cuda_array_interface__, version 2 or 3: CuPy, PyTorch, Numba, ...).
// Also where the real-GPU build keeps the stream its kernels launch on: the stream the
// producer named in the interface, or CuPy's current stream.
#include <cuda_runtime.h>

#include <algorithm>

#include "bindings/array.h"
#include "bindings/checked.h"
#include "cuda/common.cuh"

namespace ember {

namespace cuda {

// One per host thread, as CuPy's current stream is.
static thread_local cudaStream_t g_stream = nullptr;

cudaStream_t current_stream() { return g_stream; }
void set_current_stream(cudaStream_t stream) { g_stream = stream; }

}  // namespace cuda

namespace {

std::string prefix(const char* op, const char* name) {
  return std::string("[") + op + "] argument '" + name + "' ";
}

// typestr is "<f4", "<f8", "<i8", "|b1", ...
DType dtype_of(const std::string& typestr) {
  if (typestr.size() < 3) return DType::other;
  const std::string kind = typestr.substr(1);
  if (kind == "f4") return DType::f32;
  if (kind == "f8") return DType::f64;
  if (kind == "i8") return DType::i64;
  if (kind == "b1") return DType::b8;
  if (kind == "f2") return DType::f16;  // CuPy has no bfloat16: ember refuses it on cuda before a kernel
  return DType::other;
}

// "<f2" as NumPy names it ("float16"), for messages; the typestr itself if NumPy does not know it.
std::string numpy_name(const std::string& typestr) {
  try {
    return py::str(py::module_::import("numpy").attr("dtype")(typestr));
  } catch (const py::error_already_set&) {
    return typestr;
  }
}

int64_t itemsize_of(const std::string& typestr) {
  try {
    return typestr.size() >= 3 ? std::stoll(typestr.substr(2)) : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

// CAI v3 "stream": None (no synchronisation needed), 1 (legacy default stream),
// 2 (per-thread default stream) or a cudaStream_t as an integer. 0 is not allowed by the
// protocol; treat it as the legacy default stream too.
cudaStream_t stream_from_interface(const py::dict& cai) {
  if (cai.contains("stream") && !cai["stream"].is_none()) {
    const auto value = cai["stream"].cast<uintptr_t>();
    if (value == 1 || value == 0) return cudaStreamLegacy;
    if (value == 2) return cudaStreamPerThread;
    return reinterpret_cast<cudaStream_t>(value);
  }
  // No stream named: follow CuPy's current stream when CuPy is in use.
  py::dict modules = py::module_::import("sys").attr("modules");
  if (modules.contains("cupy")) {
    py::object stream = py::module_::import("cupy").attr("cuda").attr("get_current_stream")();
    return reinterpret_cast<cudaStream_t>(stream.attr("ptr").cast<uintptr_t>());  // 0: the legacy default stream
  }
  return nullptr;
}

bool c_contiguous(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, int64_t itemsize) {
  int64_t expected = itemsize;
  for (int i = int(shape.size()) - 1; i >= 0; --i) {
    if (shape[i] == 0) return true;
    if (shape[i] != 1 && strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

}  // namespace

Array as_array(py::handle obj, const char* op, const char* name, bool writable) {
  if (!py::hasattr(obj, "__cuda_array_interface__")) {
    if (py::hasattr(obj, "__array_interface__") || py::isinstance<py::buffer>(obj))
      throw py::type_error(prefix(op, name) + "is on the host; move it to cuda");
    throw py::type_error(prefix(op, name) + "must be a cupy.ndarray (or have __cuda_array_interface__), got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  }
  py::dict cai = obj.attr("__cuda_array_interface__");
  Array a;
  a.name = name;
  for (auto d : cai["shape"].cast<py::tuple>()) a.shape.push_back(d.cast<int64_t>());
  const auto typestr = cai["typestr"].cast<std::string>();
  // the interface is not checked by its producer: sizes must be >= 0 and their bytes fit int64
  checked_mul(checked_numel(a.shape, op, name), std::max<int64_t>(itemsize_of(typestr), 1), op, name);
  if (!typestr.empty() && typestr[0] == '>')
    throw py::type_error(prefix(op, name) + "has dtype '" + typestr +
                         "' in non-native byte order; convert it first");
  a.dtype = dtype_of(typestr);
  if (a.dtype == DType::other) a.other_dtype = numpy_name(typestr);

  if (cai.contains("strides") && !cai["strides"].is_none()) {
    std::vector<int64_t> strides;
    for (auto s : cai["strides"].cast<py::tuple>()) strides.push_back(s.cast<int64_t>());
    if (strides.size() != a.shape.size() || !c_contiguous(a.shape, strides, itemsize_of(typestr)))
      throw py::value_error(prefix(op, name) + shape_str(a) + " must be C-contiguous");
  }
  if (cai.contains("mask") && !cai["mask"].is_none())
    throw py::value_error(prefix(op, name) + "must not be a masked array");

  auto data = cai["data"].cast<py::tuple>();
  if (writable && data[1].cast<bool>()) throw py::value_error(prefix(op, name) + "must be writable");
  a.ptr = reinterpret_cast<void*>(data[0].cast<uintptr_t>());

  cuda::set_current_stream(stream_from_interface(cai));
  return a;
}

}  // namespace ember
