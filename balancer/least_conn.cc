#include "balancer/least_conn.h"

#include <algorithm>

#include "balancer/target_state.h"

namespace sluice::balancer {

namespace {
uint64_t activeOf(const TargetState* s) {
  return s == nullptr ? 0 : static_cast<uint64_t>(std::max<int64_t>(s->active(), 0));
}
}  // namespace

LeastConn::LeastConn(const std::vector<TargetWeight>& targets) : candidates_(targets) {
  slots_.reserve(candidates_.count());
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i].weight == 0) continue;
    slots_.push_back(Slot{static_cast<uint32_t>(i), targets[i].weight, targets[i].state});
  }
  if (slots_.size() > kExactLimit) {
    schedule_ = WrrSchedule(targets);
    slot_of_.assign(targets.size(), 0);
    for (uint32_t s = 0; s < slots_.size(); ++s) slot_of_[slots_[s].index] = s;
  }
}

int LeastConn::pick(const PickRequest& request) {
  if (!candidates_.anyLeft(request.exclude_mask)) return -1;
  return schedule_.size() > 0 ? pickWindow(request.exclude_mask) : pickExact(request.exclude_mask);
}

// nginx: first the lowest active/weight, then smooth WRR among the targets tied with it.
int LeastConn::pickExact(uint64_t exclude_mask) {
  Slot* best = nullptr;
  uint64_t best_active = 0;
  size_t ties = 0;
  for (Slot& s : slots_) {
    if (Candidates::excluded(exclude_mask, s.index)) continue;
    uint64_t a = activeOf(s.state);
    if (best == nullptr || a * best->weight < best_active * s.weight) {
      best = &s;
      best_active = a;
      ties = 1;
    } else if (a * best->weight == best_active * s.weight) {
      ++ties;
    }
  }
  if (ties == 1) return static_cast<int>(best->index);
  // Loads may move under us (other workers); ties are judged against the first pass's minimum.
  const Slot reference = *best;
  Slot* chosen = nullptr;
  int64_t total = 0;
  for (Slot& s : slots_) {
    if (Candidates::excluded(exclude_mask, s.index)) continue;
    if (activeOf(s.state) * reference.weight != best_active * s.weight) continue;
    s.current += static_cast<int64_t>(s.weight);
    total += static_cast<int64_t>(s.weight);
    if (chosen == nullptr || s.current > chosen->current) chosen = &s;
  }
  if (chosen == nullptr) return static_cast<int>(best->index);
  chosen->current -= total;
  return static_cast<int>(chosen->index);
}

// Least loaded of the next kWindow non-excluded schedule slots; the earliest wins ties.
int LeastConn::pickWindow(uint64_t exclude_mask) {
  const size_t n = schedule_.size();
  size_t pos = cursor_;
  size_t best_pos = n;
  const Slot* best = nullptr;
  uint64_t best_active = 0;
  size_t seen = 0;
  for (size_t step = 0; step < n && seen < kWindow; ++step, pos = pos + 1 == n ? 0 : pos + 1) {
    uint32_t target = schedule_.at(pos);
    if (Candidates::excluded(exclude_mask, target)) continue;
    ++seen;
    const Slot& s = slots_[slot_of_[target]];
    uint64_t a = activeOf(s.state);
    if (best == nullptr || a * best->weight < best_active * s.weight) {
      best = &s;
      best_pos = pos;
      best_active = a;
      if (a == 0) break;  // nothing beats idle; the earliest idle slot keeps round robin order
    }
  }
  if (best == nullptr) return -1;
  cursor_ = best_pos + 1 == n ? 0 : best_pos + 1;
  return static_cast<int>(best->index);
}

}  // namespace sluice::balancer
