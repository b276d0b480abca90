# Hot kernels are compiled once per instruction set and chosen at run time
# (csrc/cpu/isa.h), so the build never needs -march=native to be correct.
# Each file under csrc/cpu/isa/ is compiled three times, with EMBER_ISA set to
# generic, avx2 or avx512; its code lives in namespace ember::cpu::EMBER_ISA.
set(EMBER_ISA_LEVELS generic avx2 avx512)
set(EMBER_ISA_FLAGS_generic "")
set(EMBER_ISA_FLAGS_avx2 -mavx2 -mfma -mf16c)
set(EMBER_ISA_FLAGS_avx512 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c)

function(ember_add_isa_sources target)
  if(NOT ARGN)
    return()
  endif()
  foreach(level ${EMBER_ISA_LEVELS})
    set(obj ${target}_isa_${level})
    add_library(${obj} OBJECT ${ARGN})
    target_include_directories(${obj} PRIVATE ${PROJECT_SOURCE_DIR}/csrc)
    target_compile_definitions(${obj} PRIVATE EMBER_ISA=${level})
    # errno is never read: without it sqrt vectorizes (vsqrtps) instead of a libm call per item
    target_compile_options(${obj} PRIVATE ${EMBER_ISA_FLAGS_${level}} $<$<CXX_COMPILER_ID:GNU,Clang>:-fno-math-errno>)
    target_link_libraries(${obj} PRIVATE OpenMP::OpenMP_CXX pybind11::headers)
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:${obj}>)
  endforeach()
endfunction()
