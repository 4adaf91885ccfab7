// Internal: what every algorithm on every device implements. Conv2dPlan owns
// one PlanImpl; the descriptor is validated before an implementation is made.
#pragma once

#include <cstddef>
#include <memory>

#include "mec/conv.h"

namespace mec {
namespace detail {

class PlanImpl {
 public:
  PlanImpl(const Conv2dDesc& desc, Algorithm algorithm) : desc_(desc), algorithm_(algorithm) {}
  virtual ~PlanImpl() = default;
  virtual size_t workspace_bytes() const = 0;
  // Pointers are non-null (workspace may be null when workspace_bytes() is 0)
  // and the workspace is large enough: Conv2dPlan::run checks both.
  virtual Status run(const float* src, const float* weights, const float* bias, float* dst,
                     void* workspace) const = 0;

  const Conv2dDesc& desc() const { return desc_; }
  Algorithm algorithm() const { return algorithm_; }

 private:
  const Conv2dDesc desc_;
  const Algorithm algorithm_;
};

}  // namespace detail
}  // namespace mec
