// The library's version, the one place it is written: CMakeLists.txt reads
// these three numbers for project(VERSION), the shared library's SONAME, the
// CMake package's version file and mec.pc. During 0.x the ABI may change
// with every minor version, so the SONAME is libmec.so.MAJOR.MINOR.
#pragma once

#include "mec/export.h"

#define MEC_VERSION_MAJOR 0
#define MEC_VERSION_MINOR 1
#define MEC_VERSION_PATCH 0

namespace mec {

// "MAJOR.MINOR.PATCH" of the library that is running (which may be newer than
// the header a program was compiled with).
MEC_API const char* version();

}  // namespace mec
