// `least_conn`: the target with the fewest active requests relative to its weight
// (active_a x weight_b < active_b x weight_a, no division), ties broken by smooth weighted round
// robin (nginx's least_conn, which reuses its round robin). Active counts are the shared
// TargetState ones, so every worker of the process sees the same loads.
//
// Up to kExactLimit available targets the choice is exact (two passes over the targets, as
// nginx). Above that a full scan would cost ~1 us for 1000 targets, so each pick examines a
// window of kWindow consecutive slots of a WrrSchedule from a cursor and takes the least loaded
// of them (the earliest on ties); the cursor then moves past the chosen slot, so busy targets
// lose their turn. With equal loads this is exactly weighted round robin; with unequal loads it
// is least-of-kWindow (better than power of two, O(kWindow)). Trade-off: a target idle but
// outside the current window waits for the cursor (at most size/kWindow picks).
#pragma once

#include "balancer/balancer.h"
#include "balancer/wrr_schedule.h"

namespace sluice::balancer {

class LeastConn final : public Balancer {
 public:
  static constexpr size_t kExactLimit = 32;
  static constexpr size_t kWindow = 16;

  explicit LeastConn(const std::vector<TargetWeight>& targets);
  int pick(const PickRequest& request) override;

 private:
  int pickExact(uint64_t exclude_mask);
  int pickWindow(uint64_t exclude_mask);

  struct Slot {
    uint32_t index;
    uint64_t weight;
    const TargetState* state;
    int64_t current = 0;  // smooth WRR among ties (exact mode)
  };
  Candidates candidates_;
  std::vector<Slot> slots_;        // the available targets
  std::vector<uint32_t> slot_of_;  // target index -> position in slots_ (window mode)
  WrrSchedule schedule_;           // window mode
  size_t cursor_ = 0;
};

}  // namespace sluice::balancer
