# ember._cuda (nvcc, real GPUs) and ember._cuda_emu (the same .cu files on the
# CPU emulator in csrc/cuda/emu/), plus ember._emu_selftest, the emulator's own
# test kernels (tests/emu/kernels/*.cu). Included by the top CMakeLists.txt.
#
# The emulator compiles each .cu file as C++: the build first runs
# csrc/cuda/emu/rewrite.py on it (it rewrites `__shared__` declarations into the
# per-block arena, keeping line numbers), then compiles the result with the
# compiler's ThreadSanitizer instrumentation; no TSan runtime is linked: the
# callbacks are the emulator's memory checker (csrc/cuda/emu/check.cpp).

set(EMBER_CUDA_DIR ${PROJECT_SOURCE_DIR}/csrc/cuda)
file(GLOB EMBER_CUDA_SOURCES CONFIGURE_DEPENDS ${EMBER_CUDA_DIR}/*.cu)
file(GLOB EMBER_CUDA_HEADERS CONFIGURE_DEPENDS ${EMBER_CUDA_DIR}/*.cuh)

# EMBER_CUDA=AUTO builds ember._cuda when a CUDA compiler is found.
set(EMBER_BUILD_CUDA OFF)
string(TOUPPER "${EMBER_CUDA}" EMBER_CUDA_MODE)
if(NOT EMBER_CUDA_MODE MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "EMBER_CUDA must be AUTO, ON or OFF, got '${EMBER_CUDA}'")
elseif(EMBER_CUDA_MODE STREQUAL "ON")
  set(EMBER_BUILD_CUDA ON)
elseif(EMBER_CUDA_MODE STREQUAL "AUTO")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(EMBER_BUILD_CUDA ON)
  endif()
endif()

# module.cpp binds every family in csrc/bindings/ops/, so each needs its csrc/cuda/<stem>.cu:
# a missing one is an error, never a module built without it.
if(EMBER_CUDA_EMU OR EMBER_BUILD_CUDA)
  foreach(binding ${EMBER_BINDING_SOURCES})
    get_filename_component(stem ${binding} NAME_WE)
    if(NOT EXISTS ${EMBER_CUDA_DIR}/${stem}.cu)
      message(FATAL_ERROR "csrc/bindings/ops/${stem}.cpp has no kernels in csrc/cuda/${stem}.cu")
    endif()
  endforeach()
endif()

set(EMBER_CUDA_BINDING_SOURCES
  ${PROJECT_SOURCE_DIR}/csrc/bindings/module.cpp
  ${PROJECT_SOURCE_DIR}/csrc/bindings/array.cpp
  ${EMBER_BINDING_SOURCES})

# ---- the emulator ----------------------------------------------------------------
if(EMBER_CUDA_EMU)
  option(EMBER_EMU_INSTRUMENT "Instrument emulated kernels' loads and stores for EMBER_EMU_CHECK" ON)
  set(EMBER_EMU_DIR ${EMBER_CUDA_DIR}/emu)

  set(EMBER_EMU_INSTRUMENT_FLAGS -g1)
  if(EMBER_EMU_INSTRUMENT)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      list(APPEND EMBER_EMU_INSTRUMENT_FLAGS -fsanitize=thread --param=tsan-instrument-func-entry-exit=0)
    elseif(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
      list(APPEND EMBER_EMU_INSTRUMENT_FLAGS -fsanitize=thread
           "SHELL:-mllvm -tsan-instrument-func-entry-exit=0" "SHELL:-mllvm -tsan-instrument-read-before-write=1"
           "SHELL:-mllvm -tsan-instrument-atomics=0")
    else()
      message(WARNING "cuda-emu: no load/store instrumentation for ${CMAKE_CXX_COMPILER_ID}; "
                      "EMBER_EMU_CHECK will only check atomics, barriers and warp operations")
    endif()
  endif()

  # The runtime: fibers, scheduler, checks, CUDA API subset. Not instrumented.
  set(EMBER_EMU_RUNTIME_SOURCES
    ${EMBER_EMU_DIR}/scheduler.cpp ${EMBER_EMU_DIR}/runtime.cpp ${EMBER_EMU_DIR}/check.cpp
    ${EMBER_EMU_DIR}/report.cpp ${EMBER_EMU_DIR}/fiber.cpp ${EMBER_EMU_DIR}/warp.cpp)
  set(EMBER_EMU_FIBER_DEFS "")
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" AND NOT APPLE AND NOT WIN32)
    enable_language(ASM)
    list(APPEND EMBER_EMU_RUNTIME_SOURCES ${EMBER_EMU_DIR}/fiber_x86_64.S)
  else()
    set(EMBER_EMU_FIBER_DEFS EMBER_EMU_UCONTEXT)
  endif()
  add_library(ember_emu_runtime OBJECT ${EMBER_EMU_RUNTIME_SOURCES})
  target_include_directories(ember_emu_runtime PRIVATE ${PROJECT_SOURCE_DIR}/csrc)
  target_compile_definitions(ember_emu_runtime PRIVATE EMBER_BACKEND_CUDA EMBER_CUDA_EMU ${EMBER_EMU_FIBER_DEFS})
  set_target_properties(ember_emu_runtime PROPERTIES POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden)
  target_link_libraries(ember_emu_runtime PRIVATE OpenMP::OpenMP_CXX)

  # ember_emu_prepare(<out-var> <file.cu>...): the rewritten, instrumented C++ sources.
  function(ember_emu_prepare out_var)
    set(generated "")
    foreach(cu ${ARGN})
      file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${cu})
      string(REPLACE "/" "__" tag ${rel})
      set(gen ${CMAKE_CURRENT_BINARY_DIR}/emu_gen/${tag}.cpp)
      get_filename_component(dir ${cu} DIRECTORY)
      file(GLOB neighbours ${dir}/*.cuh)
      add_custom_command(
        OUTPUT ${gen}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/emu_gen
        COMMAND ${Python_EXECUTABLE} ${EMBER_EMU_DIR}/rewrite.py ${cu} ${gen}
        DEPENDS ${cu} ${neighbours} ${EMBER_EMU_DIR}/rewrite.py
        COMMENT "cuda-emu: preparing ${rel}"
        VERBATIM)
      set_source_files_properties(${gen} PROPERTIES
        COMPILE_OPTIONS "${EMBER_EMU_INSTRUMENT_FLAGS}"
        INCLUDE_DIRECTORIES ${dir})
      list(APPEND generated ${gen})
    endforeach()
    set(${out_var} ${generated} PARENT_SCOPE)
  endfunction()

  function(ember_emu_module target)
    target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/csrc ${EMBER_CUDA_DIR})
    target_compile_definitions(${target} PRIVATE EMBER_BACKEND_CUDA EMBER_CUDA_EMU EMBER_MODULE_NAME=${target})
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:ember_emu_runtime>)
    target_link_libraries(${target} PRIVATE OpenMP::OpenMP_CXX)
    install(TARGETS ${target} LIBRARY DESTINATION ember)
  endfunction()

  # ember._emu_selftest: never depends on the op kernels.
  file(GLOB EMBER_EMU_TEST_KERNELS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/emu/kernels/*.cu)
  ember_emu_prepare(EMBER_EMU_TEST_GENERATED ${EMBER_EMU_TEST_KERNELS})
  # NO_EXTRAS: keep the line tables the reports need (no strip) and skip LTO.
  pybind11_add_module(_emu_selftest NO_EXTRAS
    ${PROJECT_SOURCE_DIR}/tests/emu/selftest_module.cpp ${EMBER_EMU_TEST_GENERATED})
  target_include_directories(_emu_selftest PRIVATE ${PROJECT_SOURCE_DIR}/tests/emu/kernels)
  ember_emu_module(_emu_selftest)

  # ember._cuda_emu: the op kernels.
  ember_emu_prepare(EMBER_CUDA_EMU_GENERATED ${EMBER_CUDA_SOURCES})
  pybind11_add_module(_cuda_emu NO_EXTRAS
    ${EMBER_CUDA_BINDING_SOURCES} ${PROJECT_SOURCE_DIR}/csrc/bindings/array_host.cpp ${EMBER_CUDA_EMU_GENERATED})
  ember_emu_module(_cuda_emu)
endif()

# ---- the real CUDA build -------------------------------------------------------------
if(EMBER_BUILD_CUDA)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80-real;90")  # A100 and H100 code, plus PTX for newer GPUs
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  pybind11_add_module(_cuda
    ${EMBER_CUDA_BINDING_SOURCES} ${PROJECT_SOURCE_DIR}/csrc/bindings/array_cuda.cpp ${EMBER_CUDA_SOURCES})
  target_include_directories(_cuda PRIVATE ${PROJECT_SOURCE_DIR}/csrc ${EMBER_CUDA_DIR})
  target_compile_definitions(_cuda PRIVATE EMBER_BACKEND_CUDA EMBER_MODULE_NAME=_cuda)
  set_target_properties(_cuda PROPERTIES CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}")
  target_link_libraries(_cuda PRIVATE CUDA::cudart)
  install(TARGETS _cuda LIBRARY DESTINATION ember)
endif()
