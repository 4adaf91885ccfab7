// Internal: runtime ISA dispatch for the hand-written CPU loops (direct,
// Winograd transforms). The library is built for the baseline x86-64 ISA so
// that one binary runs anywhere; functions marked MEC_MULTIVERSION are
// compiled three times (AVX-512, AVX2+FMA, baseline) and the loader picks the
// best one for the CPU (GCC/Clang target_clones, resolved through an ifunc).
// Helpers they call must be always_inline so they are compiled per clone.
#pragma once

// GCC only: Clang 14 (the TSan and fuzz builds) cannot clone templates.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(MEC_NO_MULTIVERSION)
#define MEC_MULTIVERSION \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MEC_MULTIVERSION
#endif

#define MEC_INLINE __attribute__((always_inline)) inline
