// `random_two`: power of two random choices. Two targets are sampled in proportion to their
// weights (Vose alias table: O(1) per sample) and the one with fewer active requests relative to
// its weight gets the request (the first sample on a tie, so with equal loads the shares are the
// weights). Cheap for large pools and, unlike a full least-loaded scan, it does not herd every
// worker onto the same momentarily idle target.
#pragma once

#include "balancer/balancer.h"
#include "balancer/hash.h"

namespace sluice::balancer {

class RandomTwo final : public Balancer {
 public:
  // `seed` (BalancerOptions::seed) starts the balancer's own generator: one per worker, no locks.
  RandomTwo(const std::vector<TargetWeight>& targets, uint64_t seed);
  int pick(const PickRequest& request) override;

 private:
  static constexpr int kSampleTries = 8;  // samples landing on excluded targets, then a scan

  uint32_t sample();  // a position in slots_, weighted
  int sampleAllowed(uint64_t exclude_mask);

  struct Slot {
    uint32_t threshold;  // keep this slot when the 32 random bits are below it (else alias)
    uint32_t alias;
    uint32_t index;
    uint32_t weight;
    const TargetState* state;
  };
  Candidates candidates_;
  std::vector<Slot> slots_;
  SplitMix64 rng_;
};

}  // namespace sluice::balancer
