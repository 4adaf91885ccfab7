# The Python module `mec` (python/mec_module.cc, python/mec/__init__.py),
# included by the top-level CMakeLists.txt. Built when pybind11's CMake
# package and Python 3's development files are found (Debian: pybind11-dev,
# python3-dev; scripts/install-deps.sh installs them), against Debian's
# /usr/bin/python3 unless Python3_EXECUTABLE says otherwise. The build tree
# holds an importable package in BUILD/python (PYTHONPATH=BUILD/python);
# `cmake --install` puts it in PREFIX/lib/python3/dist-packages/mec.
option(MEC_BUILD_PYTHON "Build the Python module when pybind11 and Python 3 are found" ON)
set(MEC_HAVE_PYTHON OFF)
if(NOT MEC_BUILD_PYTHON)
  return()
endif()
# A sanitized module cannot be loaded into an uninstrumented interpreter.
if(MEC_SANITIZE)
  message(STATUS "mec: Python module OFF in sanitizer builds (MEC_SANITIZE=${MEC_SANITIZE})")
  return()
endif()
if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python3_EXECUTABLE /usr/bin/python3)
endif()
set(PYBIND11_FINDPYTHON ON)
find_package(Python3 COMPONENTS Interpreter Development.Module)
find_package(pybind11 CONFIG QUIET)
if(NOT Python3_FOUND OR NOT pybind11_FOUND)
  message(STATUS "mec: Python module OFF (Python 3 development files: ${Python3_FOUND}, "
                 "pybind11: ${pybind11_FOUND}; scripts/install-deps.sh installs both)")
  return()
endif()
set(MEC_HAVE_PYTHON ON)
message(STATUS "mec: Python module ON (${Python3_EXECUTABLE}, pybind11 ${pybind11_VERSION})")

set(MEC_PYTHON_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/python3/dist-packages CACHE PATH
    "Where cmake --install puts the Python package mec (relative to the prefix)")
# NO_EXTRAS: no LTO or stripping (a debuggable module, no serial LTO pass).
pybind11_add_module(_mec NO_EXTRAS python/mec_module.cc)
target_link_libraries(_mec PRIVATE mec)
set_target_properties(_mec PROPERTIES
  LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/python/mec
  BUILD_RPATH ${CMAKE_LIBRARY_OUTPUT_DIRECTORY}
  # From PREFIX/lib/python3/dist-packages/mec to PREFIX/lib.
  INSTALL_RPATH "$ORIGIN/../../..")
# The package's Python files: the NumPy API, mec.torch (its helpers too) and
# the benchmarks mec.netbench (whole networks) and mec.overhead (per call).
set(MEC_PYTHON_FILES __init__.py torch.py _torch_core.py _torch_report.py netbench.py
    _netbench_measure.py overhead.py)
foreach(file ${MEC_PYTHON_FILES})
  configure_file(python/mec/${file} ${PROJECT_BINARY_DIR}/python/mec/${file} COPYONLY)
  install(FILES python/mec/${file} DESTINATION ${MEC_PYTHON_INSTALL_DIR}/mec)
endforeach()
install(TARGETS _mec LIBRARY DESTINATION ${MEC_PYTHON_INSTALL_DIR}/mec)
