// Each op family binds its entry points in csrc/bindings/ops/<stem>.cpp, for
// whichever backend `kern` names. Adding a family: one line here.
#pragma once
#include <pybind11/pybind11.h>

#define EMBER_OP_FAMILIES(X) \
  X(matmul)                  \
  X(activations)             \
  X(softmax)                 \
  X(cross_entropy)           \
  X(layer_norm)              \
  X(embedding)               \
  X(rnn)                     \
  X(optim)                   \
  X(conv2d)                  \
  X(pool)                    \
  X(batch_norm)              \
  X(dropout)                 \
  X(losses)

namespace ember {
#define EMBER_DECLARE_BIND(stem) void bind_##stem(pybind11::module_& m);
EMBER_OP_FAMILIES(EMBER_DECLARE_BIND)
#undef EMBER_DECLARE_BIND
}  // namespace ember
