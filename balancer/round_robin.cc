#include "balancer/round_robin.h"

namespace sluice::balancer {

RoundRobin::RoundRobin(const std::vector<TargetWeight>& targets) : candidates_(targets) {
  if (candidates_.count() > kLiveLimit) {
    schedule_ = WrrSchedule(targets);
    return;
  }
  slots_.reserve(candidates_.count());
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i].weight == 0) continue;
    slots_.push_back(Slot{static_cast<uint32_t>(i), static_cast<int64_t>(targets[i].weight)});
  }
}

int RoundRobin::pick(const PickRequest& request) {
  if (!candidates_.anyLeft(request.exclude_mask)) return -1;
  return schedule_.size() > 0 ? pickScheduled(request.exclude_mask)
                              : pickLive(request.exclude_mask);
}

// Each pick raises every candidate's `current` by its weight, takes the highest and lowers the
// winner by the total: the classic smooth WRR, O(targets) per pick.
int RoundRobin::pickLive(uint64_t exclude_mask) {
  if (slots_.size() == 1) return static_cast<int>(slots_[0].index);  // anyLeft said it is free
  Slot* best = nullptr;
  int64_t total = 0;
  for (Slot& s : slots_) {
    if (Candidates::excluded(exclude_mask, s.index)) continue;
    s.current += s.weight;
    total += s.weight;
    if (best == nullptr || s.current > best->current) best = &s;
  }
  best->current -= total;
  return static_cast<int>(best->index);
}

// The next schedule slot whose target is not excluded; anyLeft() guarantees one within a period.
int RoundRobin::pickScheduled(uint64_t exclude_mask) {
  const size_t n = schedule_.size();
  for (size_t step = 0; step < n; ++step) {
    size_t pos = cursor_ + step < n ? cursor_ + step : cursor_ + step - n;
    uint32_t target = schedule_.at(pos);
    if (Candidates::excluded(exclude_mask, target)) continue;
    cursor_ = pos + 1 == n ? 0 : pos + 1;
    return static_cast<int>(target);
  }
  return -1;
}

}  // namespace sluice::balancer
