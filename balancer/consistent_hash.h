// `consistent_hash`: a hash ring with virtual nodes in proportion to weight; a request goes to
// the first virtual node at or after hashKey(key) (PickRequest::hash), so adding or removing one
// of n targets moves only about 1/n of the keys. Optional bounded loads (balance_factor, Google's
// "consistent hashing with bounded loads"): a target already at its bound is passed over and the
// request walks the ring to the next target under it, so one hot key cannot sink a target.
#pragma once

#include <optional>

#include "balancer/balancer.h"

namespace sluice::balancer {

class ConsistentHash final : public Balancer {
 public:
  // Virtual nodes of a target of average weight; a target gets round(kVnodes x w / mean w),
  // at least 1. 128 keeps each target's share within a few % of its weight (1/sqrt(128) ~ 9%
  // relative spread) at 128 x targets ring entries (1000 targets: 1.5 MB per worker).
  static constexpr uint32_t kVnodes = 128;

  // Ring positions come from TargetWeight::id (hashKey(address)), so a target keeps its
  // positions when others are added, removed or reordered.
  ConsistentHash(const std::vector<TargetWeight>& targets, std::optional<double> balance_factor);
  int pick(const PickRequest& request) override;

 private:
  size_t lookup(uint64_t hash) const;  // first ring position with point >= hash (wrapping)
  bool underBound(uint32_t slot, double total_plus_one) const;

  struct Slot {
    uint32_t index;
    const TargetState* state;
    double bound_share;  // factor x weight / total weight: bound = ceil(share x (active + 1))
  };
  Candidates candidates_;
  std::vector<Slot> slots_;
  std::vector<uint64_t> points_;   // sorted ring points
  std::vector<uint32_t> owners_;   // slot owning each point
  std::vector<uint32_t> buckets_;  // first point >= (b << shift_), for b in [0, 2^bits]
  int shift_ = 64;
  std::optional<double> balance_factor_;
  const TargetState* any_state_ = nullptr;  // its UpstreamState gives the total active
};

}  // namespace sluice::balancer
