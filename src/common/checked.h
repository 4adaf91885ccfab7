// Internal: 64-bit arithmetic that reports overflow instead of wrapping.
// Every buffer size in the library is computed through these.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace mec {

// Product of non-negative factors; false if it exceeds int64_t.
inline bool checked_product(std::initializer_list<int64_t> factors, int64_t* out) {
  int64_t acc = 1;
  for (int64_t f : factors) {
    if (__builtin_mul_overflow(acc, f, &acc)) return false;
  }
  *out = acc;
  return true;
}

inline bool checked_add(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

// ceil(a / b) for a >= 0, b > 0, without forming a + b - 1.
inline int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

}  // namespace mec
