// `round_robin`: smooth weighted round robin (nginx's algorithm): over sum(weights) picks each
// target is chosen weight times, interleaved, with no burst to the heaviest target.
#pragma once

#include "balancer/balancer.h"

namespace sluice::balancer {

class RoundRobin final : public Balancer {
 public:
  explicit RoundRobin(const std::vector<TargetWeight>& targets);
  int pick(const PickRequest& request) override;

 private:
  struct Slot {
    int64_t weight;
    int64_t current = 0;
  };
  std::vector<Slot> slots_;
};

}  // namespace sluice::balancer
