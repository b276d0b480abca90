// The self-test harness: each test kernel file registers host launchers by
// name; ember._emu_selftest.run(name, arrays, grid, block, smem, ints) calls
// them with NumPy buffers. Host-only code: kernels never see it.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "cuda/common.cuh"

namespace ember::emu_test {

struct Args {
  std::vector<void*> bufs;
  std::vector<long long> ints;
  dim3 grid, block;
  size_t smem = 0;

  template <class T>
  T* buf(size_t i) const {
    return static_cast<T*>(bufs.at(i));
  }
  long long num(size_t i) const { return ints.at(i); }
};

using Launcher = void (*)(const Args&);

inline std::map<std::string, Launcher>& registry() {
  static std::map<std::string, Launcher> r;
  return r;
}

struct Register {
  Register(const char* name, Launcher f) { registry()[name] = f; }
};

}  // namespace ember::emu_test

// EMU_TEST(name) { ...host code using `a` (Args)... }
#define EMU_TEST(name)                                                          \
  static void emu_test_##name(const ::ember::emu_test::Args& a);                \
  static ::ember::emu_test::Register emu_test_reg_##name(#name, &emu_test_##name); \
  static void emu_test_##name(const ::ember::emu_test::Args& a)
