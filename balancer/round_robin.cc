#include "balancer/round_robin.h"

namespace sluice::balancer {

RoundRobin::RoundRobin(const std::vector<TargetWeight>& targets) {
  slots_.reserve(targets.size());
  for (const TargetWeight& t : targets) slots_.push_back(Slot{static_cast<int64_t>(t.weight)});
}

// Each pick raises every candidate's `current` by its weight, takes the highest and lowers the
// winner by the total: the classic smooth WRR, O(targets) per pick.
int RoundRobin::pick(const PickRequest& request) {
  if (slots_.size() == 1) return (request.exclude_mask & 1) ? -1 : 0;
  int best = -1;
  int64_t total = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (i < 64 && (request.exclude_mask >> i) & 1) continue;
    Slot& s = slots_[i];
    s.current += s.weight;
    total += s.weight;
    if (best < 0 || s.current > slots_[static_cast<size_t>(best)].current) best = static_cast<int>(i);
  }
  if (best >= 0) slots_[static_cast<size_t>(best)].current -= total;
  return best;
}

}  // namespace sluice::balancer
