#include "balancer/random_two.h"

#include <algorithm>
#include <cmath>

#include "balancer/target_state.h"

namespace sluice::balancer {

RandomTwo::RandomTwo(const std::vector<TargetWeight>& targets, uint64_t seed)
    : candidates_(targets), rng_(seed) {
  double total = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i].weight == 0) continue;
    slots_.push_back(Slot{0, 0, static_cast<uint32_t>(i), targets[i].weight, targets[i].state});
    total += targets[i].weight;
  }
  const size_t n = slots_.size();
  if (n == 0) return;
  // Vose: scaled probabilities p_i = n w_i / W; pair each small slot with a large one.
  std::vector<double> p(n);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    p[i] = static_cast<double>(slots_[i].weight) * static_cast<double>(n) / total;
    (p[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  auto keep = [](double prob) {
    double t = std::round(prob * 4294967296.0);
    return static_cast<uint32_t>(std::clamp(t, 0.0, 4294967295.0));
  };
  while (!small.empty() && !large.empty()) {
    uint32_t s = small.back();
    small.pop_back();
    uint32_t l = large.back();
    slots_[s].threshold = keep(p[s]);
    slots_[s].alias = l;
    p[l] -= 1.0 - p[s];
    if (p[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // What is left has probability 1 up to rounding: always keep (bias <= 2^-32).
  for (uint32_t i : large)
    slots_[i] = Slot{0xFFFFFFFFu, i, slots_[i].index, slots_[i].weight, slots_[i].state};
  for (uint32_t i : small)
    slots_[i] = Slot{0xFFFFFFFFu, i, slots_[i].index, slots_[i].weight, slots_[i].state};
}

uint32_t RandomTwo::sample() {
  uint64_t r = rng_.next();
  uint32_t i = scaleToRange(static_cast<uint32_t>(r >> 32), static_cast<uint32_t>(slots_.size()));
  return static_cast<uint32_t>(r) < slots_[i].threshold ? i : slots_[i].alias;
}

// A weighted sample that is not excluded: a few tries, then a scan from a random start (only
// when most of the weight is excluded, i.e. retries on tiny pools).
int RandomTwo::sampleAllowed(uint64_t exclude_mask) {
  for (int t = 0; t < kSampleTries; ++t) {
    uint32_t s = sample();
    if (!Candidates::excluded(exclude_mask, slots_[s].index)) return static_cast<int>(s);
  }
  const size_t n = slots_.size();
  size_t start = scaleToRange(static_cast<uint32_t>(rng_.next() >> 32), static_cast<uint32_t>(n));
  for (size_t k = 0; k < n; ++k) {
    size_t s = start + k < n ? start + k : start + k - n;
    if (!Candidates::excluded(exclude_mask, slots_[s].index)) return static_cast<int>(s);
  }
  return -1;
}

int RandomTwo::pick(const PickRequest& request) {
  if (!candidates_.anyLeft(request.exclude_mask)) return -1;
  if (slots_.size() == 1) return static_cast<int>(slots_[0].index);
  int a = sampleAllowed(request.exclude_mask);
  int b = sampleAllowed(request.exclude_mask);
  if (a < 0) return -1;
  if (b < 0 || a == b) return static_cast<int>(slots_[static_cast<size_t>(a)].index);
  const Slot& sa = slots_[static_cast<size_t>(a)];
  const Slot& sb = slots_[static_cast<size_t>(b)];
  uint64_t la = sa.state ? static_cast<uint64_t>(std::max<int64_t>(sa.state->active(), 0)) : 0;
  uint64_t lb = sb.state ? static_cast<uint64_t>(std::max<int64_t>(sb.state->active(), 0)) : 0;
  // Fewer active per unit of weight wins; the first sample on a tie.
  return static_cast<int>(lb * sa.weight < la * sb.weight ? sb.index : sa.index);
}

}  // namespace sluice::balancer
