// ember._cpu's host memory pool (cpu/host_pool.h) seen from Python: pool_empty returns an
// ordinary NumPy array whose base is a capsule; when the last view of the array dies, the
// capsule gives the block back. The capsule holds the pool by shared_ptr, so an array may
// outlive the module and the pool's other owners.
//
// A capsule base was chosen over NumPy's PyDataMem_SetHandler: a handler serves every
// array allocated while it is set (the user's too, and NumPy's own temporaries), and
// scoping it to ember's allocations costs a context switch per call; the capsule touches
// only the arrays ember asks for.
#include <pybind11/numpy.h>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "cpu/host_pool.h"

namespace ember {

namespace py = pybind11;
using cpu::HostPool;

namespace {

struct Lease {
  std::shared_ptr<HostPool> pool;
  void* p;
  size_t n;
};

void give_back(void* lease) {
  auto* l = static_cast<Lease*>(lease);
  l->pool->release(l->p, l->n);
  delete l;
}

std::vector<py::ssize_t> shape_of(py::handle shape) {
  auto bad = [&] {
    return py::type_error("[empty] shape must be an int or a sequence of ints, got " + std::string(py::repr(shape)));
  };
  std::vector<py::ssize_t> dims;
  auto add = [&](py::handle d) {
    if (!PyIndex_Check(d.ptr())) throw bad();
    dims.push_back(PyNumber_AsSsize_t(d.ptr(), nullptr));  // clipped on overflow: "too big" below
  };
  if (PyIndex_Check(shape.ptr())) {
    add(shape);
  } else {
    if (!PySequence_Check(shape.ptr()) || PyUnicode_Check(shape.ptr())) throw bad();
    for (py::handle d : shape) add(d);
  }
  for (py::ssize_t d : dims)
    if (d < 0) throw py::value_error("[empty] negative dimensions are not allowed, got " + std::string(py::str(shape)));
  return dims;
}

py::dtype dtype_of(py::handle dtype) {
  try {
    return py::dtype::from_args(py::reinterpret_borrow<py::object>(dtype));
  } catch (py::error_already_set&) {
    throw py::type_error("[empty] not a dtype: " + std::string(py::repr(dtype)));
  }
}

// An uninitialised (or, with zero, zeroed) C-contiguous array; from the pool when big enough.
py::array pool_empty(py::handle shape, py::handle dtype, bool zero) {
  auto dt = dtype_of(dtype);
  if (dt.flags() & 0x01)  // NPY_ITEM_REFCOUNT: the items hold Python references
    throw py::type_error("[empty] the host pool holds no object arrays, got dtype " + std::string(py::str(dt)));
  auto dims = shape_of(shape);
  size_t n = size_t(dt.itemsize());
  for (py::ssize_t d : dims) {
    if (d != 0 && n > std::numeric_limits<size_t>::max() / size_t(d))
      throw py::value_error("[empty] array of shape " + std::string(py::str(shape)) + " is too big");
    n *= size_t(d);
  }
  if (n < HostPool::kMinBlock) {
    py::array a(dt, dims, {});
    if (zero && n) std::memset(a.mutable_data(), 0, n);
    return a;
  }
  auto pool = cpu::host_pool();
  bool fresh = false;
  void* p = pool->allocate(n, &fresh);
  if (zero && !fresh) std::memset(p, 0, n);  // a freshly mapped block is zero already
  py::capsule base(new Lease{pool, p, n}, give_back);
  return py::array(dt, dims, {}, p, base);
}

py::dict pool_stats() {
  auto s = cpu::host_pool()->stats();
  py::dict d;
  d["allocated"] = s.allocated;
  d["cached"] = s.cached;
  d["peak"] = s.peak;
  d["limit"] = s.limit;
  d["hits"] = s.hits;
  d["misses"] = s.misses;
  return d;
}

}  // namespace

void bind_host_pool(py::module_& m) {
  m.def("pool_empty", &pool_empty, py::arg("shape"), py::arg("dtype"), py::arg("zero") = false);
  m.def("pool_stats", &pool_stats);
  m.def("pool_empty_cache", [] { cpu::host_pool()->empty_cache(); });
  m.def("pool_reset_peak", [] { cpu::host_pool()->reset_peak(); });
  m.def("pool_set_limit", [](size_t bytes) { cpu::host_pool()->set_limit(bytes); });
  m.def("pool_set_hugepage_min", [](size_t bytes) { cpu::host_pool()->set_hugepage_min(bytes); });
  m.def("pool_hugepage_min", [] { return cpu::host_pool()->hugepage_min(); });
  m.def("pool_class_bytes", [](size_t n) { return HostPool::class_bytes(n); });
  m.attr("pool_min_block") = HostPool::kMinBlock;
}

}  // namespace ember
