// A precomputed smooth weighted order of the available targets, for pools too large to run
// nginx's O(targets) smooth round robin on every pick: one period of an earliest-deadline-first
// schedule (target i's k-th turn at (k + 1/2) / weight_i, ties to the lower index), so that over
// any prefix each target is within about one turn of its weighted share. Shared by round_robin
// and least_conn (nginx style: least_conn reuses round robin instead of copying it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "balancer/balancer.h"

namespace sluice::balancer {

class WrrSchedule {
 public:
  // Period bound: weights are first divided by their gcd; if they still sum above this they are
  // scaled down proportionally (each >= 1), so shares then deviate by < 1/scaled weight.
  static constexpr uint64_t kMaxSlots = 65536;

  WrrSchedule() = default;
  // Built by the balancer's constructor (the worker's thread), O(period x log targets).
  explicit WrrSchedule(const std::vector<TargetWeight>& targets);

  size_t size() const { return slots_.size(); }
  // The target index (in the list the schedule was built from) at `pos` < size().
  uint32_t at(size_t pos) const { return slots_[pos]; }

 private:
  std::vector<uint32_t> slots_;
};

}  // namespace sluice::balancer
