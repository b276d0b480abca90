// Each op family binds its entry points in csrc/bindings/ops/<stem>.cpp, for
// whichever backend `kern` names, in a function bind_<stem>(m). CMake generates
// EMBER_OP_FAMILIES from those files' stems, so adding a family adds no line here.
#pragma once
#include <pybind11/pybind11.h>

#include "bindings/op_families.h"

namespace ember {
#define EMBER_DECLARE_BIND(stem) void bind_##stem(pybind11::module_& m);
EMBER_OP_FAMILIES(EMBER_DECLARE_BIND)
#undef EMBER_DECLARE_BIND
}  // namespace ember
