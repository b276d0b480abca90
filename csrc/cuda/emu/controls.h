// Python controls for an emulator module: both ember._cuda_emu and the test
// module ember._emu_selftest call bind_controls(m) in their PYBIND11_MODULE.
// The setters override EMBER_EMU_SCHEDULE / EMBER_EMU_CHECK for this module;
// an empty string goes back to the environment (read at every launch).
#pragma once
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "cuda/emu/runtime.h"

namespace ember::emu {

inline void bind_controls(pybind11::module_& m) {
  namespace py = pybind11;
  m.def(
      "set_schedule",
      [](const std::string& s) {
        try {
          set_schedule(s);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("schedule"),
      "Set the order of CUDA threads between barriers: 'forward', 'reverse' or 'random:SEED' "
      "('' = EMBER_EMU_SCHEDULE).");
  m.def("get_schedule", &get_schedule, "The schedule the next launch uses.");
  m.def(
      "set_check",
      [](py::object v) {
        std::string s = py::isinstance<py::bool_>(v) ? (v.cast<bool>() ? "1" : "0") : py::str(v).cast<std::string>();
        try {
          set_check(s);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("check"),
      "Turn the memory checks (races, uninitialised shared reads, bounds) on or off: True/False, '1'/'0' "
      "('' = EMBER_EMU_CHECK).");
  m.def("get_check", &get_check, "Whether the next launch runs with the memory checks.");
  m.def(
      "emu_stats",
      [] {
        Stats s = stats();
        py::dict d;
        d["launches"] = s.launches;
        d["blocks"] = s.blocks;
        d["threads"] = s.threads;
        d["switches"] = s.switches;
        return d;
      },
      "Counters since the module was loaded: launches, blocks, CUDA threads, fiber switches.");
}

}  // namespace ember::emu
