// `round_robin`: smooth weighted round robin (nginx's algorithm): over sum(weights) picks each
// target is chosen weight times, interleaved, with no burst to the heaviest target. Up to
// kLiveLimit available targets it runs nginx's algorithm itself (O(targets) per pick, exact
// nginx order); above that it walks a precomputed WrrSchedule (O(1) per pick).
#pragma once

#include "balancer/balancer.h"
#include "balancer/wrr_schedule.h"

namespace sluice::balancer {

class RoundRobin final : public Balancer {
 public:
  static constexpr size_t kLiveLimit = 32;

  explicit RoundRobin(const std::vector<TargetWeight>& targets);
  int pick(const PickRequest& request) override;

 private:
  int pickLive(uint64_t exclude_mask);
  int pickScheduled(uint64_t exclude_mask);

  struct Slot {
    uint32_t index;
    int64_t weight;
    int64_t current = 0;
  };
  Candidates candidates_;
  std::vector<Slot> slots_;  // live mode: the available targets
  WrrSchedule schedule_;     // scheduled mode
  size_t cursor_ = 0;
};

}  // namespace sluice::balancer
