// Internal: what every algorithm on every device implements. Conv2dPlan owns
// one PlanImpl; the descriptor is validated before an implementation is made.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <vector>

#include "common/status_detail.h"
#include "mec/conv.h"

namespace mec {
namespace detail {

class PlanImpl {
 public:
  PlanImpl(const Conv2dDesc& desc, Algorithm algorithm) : desc_(desc), algorithm_(algorithm) {}
  virtual ~PlanImpl() = default;
  // Scratch bytes run() needs; must account for has_packed_weights().
  virtual size_t workspace_bytes() const = 0;
  // Pointers are non-null except weights, which is null exactly when
  // has_packed_weights(); workspace may be null when workspace_bytes() is 0.
  // The workspace is large enough: Conv2dPlan::run checks all this.
  virtual Status run(const float* src, const float* weights, const float* bias, float* dst,
                     void* workspace) const = 0;
  // Fills packed_ from raw weights; the default keeps a plain copy.
  // Allocation failures are caught by the caller (kOutOfMemory).
  virtual void pack_weights(const float* weights) {
    packed_.assign(weights, weights + desc_.weight_elems());
  }

  // set_weights(): the default packs into host memory with pack_weights();
  // device plans override these three to keep their weights on the device.
  virtual Status store_weights(const float* weights) {
    try {
      pack_weights(weights);
    } catch (const std::bad_alloc&) {
      return fail(Status::kOutOfMemory, "cannot allocate the plan's packed weights");
    }
    return Status::kSuccess;
  }
  virtual bool has_packed_weights() const { return !packed_.empty(); }
  virtual size_t persistent_bytes() const { return packed_.size() * sizeof(float); }
  const float* packed_weights() const { return packed_.data(); }

  const Conv2dDesc& desc() const { return desc_; }
  Algorithm algorithm() const { return algorithm_; }

 protected:
  std::vector<float> packed_;

 private:
  const Conv2dDesc desc_;
  const Algorithm algorithm_;
};

}  // namespace detail
}  // namespace mec
