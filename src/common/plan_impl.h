// Internal: what every algorithm on every device implements. Conv2dPlan owns
// one PlanImpl; the descriptor is validated before an implementation is made.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "common/status_detail.h"
#include "mec/conv.h"

namespace mec {
namespace detail {

class PlanImpl {
 public:
  PlanImpl(const Conv2dDesc& desc, Algorithm algorithm, Pass pass = Pass::kForward)
      : desc_(desc), algorithm_(algorithm), pass_(pass), variant_(algorithm_name(algorithm)) {}
  virtual ~PlanImpl() = default;
  // Scratch bytes run() needs; must account for has_packed_weights().
  virtual size_t workspace_bytes() const = 0;
  // Pointers are non-null except weights, which is null exactly when
  // has_packed_weights(); workspace may be null when workspace_bytes() is 0.
  // The workspace is large enough: Conv2dPlan::run checks all this.
  // Backward plans take their pass's tensors in the same four slots:
  //   kBackwardData     run(ddst, weights, nullptr, dsrc, workspace)
  //   kBackwardWeights  run(src, ddst, dbias (may be null), dweights, workspace)
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
  Pass pass() const { return pass_; }
  // Conv2dPlan::variant(): the algorithm's name until the implementation,
  // once its choices are made, says what it runs (set_variant).
  const std::string& variant() const { return variant_; }

 protected:
  void set_variant(std::string variant) { variant_ = std::move(variant); }

  std::vector<float> packed_;

 private:
  const Conv2dDesc desc_;
  const Algorithm algorithm_;
  const Pass pass_;
  std::string variant_;
};

// A variant string (Conv2dPlan::variant()): the tokens joined by '/',
// empty ones (optional tokens left out) skipped.
inline std::string join_variant(std::initializer_list<std::string> tokens) {
  std::string out;
  for (const std::string& token : tokens) {
    if (token.empty()) continue;
    if (!out.empty()) out += '/';
    out += token;
  }
  return out;
}

}  // namespace detail
}  // namespace mec
