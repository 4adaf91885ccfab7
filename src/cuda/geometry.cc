// The descriptor's shape for the CUDA kernels and the MEC policy
// (geometry.h). Host code: the C++ compiler builds it, for the backend and
// for the policy's tests.
#include "cuda/geometry.h"

namespace mec {
namespace cuda {

Geometry geometry(const Conv2dDesc& d) {
  Geometry g;
  g.n = d.n;
  g.h = d.h;
  g.w = d.w;
  g.c = d.c;
  g.k = d.k;
  g.r = d.r;
  g.s = d.s;
  g.pad_top = d.pad_top;
  g.pad_left = d.pad_left;
  g.stride_h = d.stride_h;
  g.stride_w = d.stride_w;
  g.dilation_h = d.dilation_h;
  g.dilation_w = d.dilation_w;
  g.groups = d.groups;
  g.cg = d.c / d.groups;
  g.kg = d.k / d.groups;
  g.p = d.p();
  g.q = d.q();
  g.hp = lowered_height(d);
  return g;
}

int64_t lowered_height(const Conv2dDesc& d) {
  const int64_t hp = d.h + d.pad_top + d.pad_bottom, row = d.s * (d.c / d.groups);
  if ((d.stride_h * row) % 4 != 0) return hp;
  int64_t aligned = hp;
  while ((aligned * row) % 4 != 0) ++aligned;
  return aligned;
}

Geometry ungrouped(const Geometry& g) {
  Geometry u = g;
  u.groups = 1;
  u.cg = g.c;
  u.kg = g.k;
  return u;
}

}  // namespace cuda
}  // namespace mec
