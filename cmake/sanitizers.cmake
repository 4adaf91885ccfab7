# Sanitizer and fuzzing builds (make asan / make tsan / make fuzz; see
# docs/reliability.md). MEC_SANITIZE is the -fsanitize= list applied to every
# target, library included, so the sanitizers see our code and not just the
# tests; MEC_BUILD_FUZZ additionally instruments everything for libFuzzer's
# coverage feedback and builds fuzz/ (Clang only).
set(MEC_SANITIZE "" CACHE STRING "-fsanitize= list for all targets, e.g. address,undefined or thread")
option(MEC_BUILD_FUZZ "Build the libFuzzer targets in fuzz/ (needs Clang)" OFF)

if(MEC_SANITIZE)
  # C++ only: sanitizer builds are CPU builds (the Makefile turns CUDA off).
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${MEC_SANITIZE};-fno-sanitize-recover=all;-fno-omit-frame-pointer;-g>")
  add_link_options(-fsanitize=${MEC_SANITIZE})
  message(STATUS "mec: sanitizers ${MEC_SANITIZE}")
endif()

if(MEC_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MEC_BUILD_FUZZ needs Clang (libFuzzer): configure with CXX=clang++-14")
  endif()
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=fuzzer-no-link>)
endif()
