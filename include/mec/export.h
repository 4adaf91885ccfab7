// What the shared library exports. libmec is compiled with hidden
// visibility, so exactly the declarations marked MEC_API - the public mec::
// API in these headers - are visible to programs; everything internal stays
// private to the library and free to change. The CUDA backend compiles its
// own private copy of a few of these functions and defines
// MEC_EXPORT_NOTHING, so that its copies never stand in for libmec's.
#pragma once

#if (defined(__GNUC__) || defined(__clang__)) && !defined(MEC_EXPORT_NOTHING)
#define MEC_API __attribute__((visibility("default")))
#else
#define MEC_API
#endif
