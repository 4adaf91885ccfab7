# Finds oneDNN for mecbench's onednn peer without letting a broken package
# stop the configure. Debian's dnnl-config.cmake calls find_package(OpenCL
# REQUIRED) (its GPU runtime is OpenCL), so with libdnnl-dev installed but
# not ocl-icd-opencl-dev a plain find_package(dnnl) is a configure ERROR for
# the whole project, QUIET or not: CMake cannot catch a FATAL_ERROR. So the
# package is first configured in a tiny probe project (a child cmake, its
# build directory kept so later configures take milliseconds), and the real
# find_package(dnnl) runs only when the probe succeeded.
#
# Sets MECBENCH_ONEDNN_USABLE in the caller's scope; prints why when not.

function(mecbench_find_onednn)
  set(MECBENCH_ONEDNN_USABLE OFF PARENT_SCOPE)
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/onednn_probe)
  file(MAKE_DIRECTORY ${dir}/build)
  file(WRITE ${dir}/CMakeLists.txt
       "cmake_minimum_required(VERSION 3.20)\n"
       "project(mecbench_onednn_probe LANGUAGES CXX)\n"
       "find_package(dnnl CONFIG QUIET)\n"
       "if(dnnl_FOUND)\n"
       "  message(STATUS \"MECBENCH_PROBE found\")\n"
       "endif()\n")
  # The search settings of this configure, as an initial cache (bracket
  # arguments keep lists and odd characters intact). FORCE, and unset for
  # what is not set here: the probe's cache outlives this configure.
  set(init "")
  foreach(var CMAKE_PREFIX_PATH CMAKE_FIND_ROOT_PATH CMAKE_SYSROOT CMAKE_TOOLCHAIN_FILE
              CMAKE_CXX_COMPILER CMAKE_MAKE_PROGRAM CMAKE_MODULE_PATH CMAKE_IGNORE_PATH
              CMAKE_IGNORE_PREFIX_PATH dnnl_DIR OpenCL_INCLUDE_DIR OpenCL_LIBRARY TBB_DIR)
    if(DEFINED ${var})
      string(APPEND init "set(${var} [==[${${var}}]==] CACHE STRING \"\" FORCE)\n")
    else()
      string(APPEND init "unset(${var} CACHE)\n")
    endif()
  endforeach()
  file(WRITE ${dir}/init.cmake "${init}")
  execute_process(
    COMMAND ${CMAKE_COMMAND} -G ${CMAKE_GENERATOR} -C ${dir}/init.cmake -S ${dir} -B ${dir}/build
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 AND out MATCHES "MECBENCH_PROBE found")
    set(MECBENCH_ONEDNN_USABLE ON PARENT_SCOPE)
  elseif(rc EQUAL 0)
    message(STATUS "mecbench: oneDNN not found (libdnnl-dev): peer onednn not built")
  else()
    # The first sentence of the first error (between "CMake Error at ...:"
    # and its call stack) on one line; all of it in error.log.
    file(WRITE ${dir}/error.log "${err}")
    set(reason "exit ${rc}")
    if(err MATCHES "CMake Error[^\n]*\n(.*)")
      string(REGEX REPLACE "\n(Call Stack|CMake Error|-- ).*" "" reason "${CMAKE_MATCH_1}")
      string(REGEX REPLACE "[ \t\r\n]+" " " reason "${reason}")
      string(REGEX REPLACE "\\. .*" "" reason "${reason}")
      string(STRIP "${reason}" reason)
    endif()
    message(STATUS "mecbench: oneDNN's CMake package cannot be configured (${reason}; "
                   "${dir}/error.log): peer onednn not built")
  endif()
endfunction()
