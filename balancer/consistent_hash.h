// `consistent_hash`: a hash ring with virtual nodes in proportion to weight; a request goes to
// the first virtual node at or after hashKey(key) (PickRequest::hash), so adding or removing one
// of n targets moves only about 1/n of the keys. Optional bounded loads (balance_factor, Google's
// "consistent hashing with bounded loads"): a target already at its bound is passed over and the
// request walks the ring to the next target under it, so one hot key cannot sink a target.
// pick() changes no state, so unlike the other balancers one instance may be shared by all
// workers (a 1000-target ring takes ~5 ms to build and 1.5 MB: build it once per change).
#pragma once

#include <optional>

#include "balancer/balancer.h"

namespace sluice::balancer {

class ConsistentHash final : public Balancer {
 public:
  // Virtual nodes of a target of average weight; a target gets round(v x w / mean w), at least
  // 1, with v = kVnodes up to kMaxPoints / kVnodes (64) targets: each share is then within a
  // few % of its weight (relative spread ~ 1/sqrt(points)) and adding or removing a target moves
  // only that target's keys. Larger pools are capped at kMaxPoints ring points (1.5 MB per
  // worker), v = kMaxPoints / targets, so a change of pool size also moves ~1/targets of the
  // keys between the others.
  static constexpr uint32_t kVnodes = 2048;
  static constexpr uint32_t kMaxPoints = 1u << 17;

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
