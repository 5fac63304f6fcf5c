#include "balancer/wrr_schedule.h"

#include <numeric>
#include <queue>

namespace sluice::balancer {

WrrSchedule::WrrSchedule(const std::vector<TargetWeight>& targets) {
  std::vector<uint32_t> index;
  std::vector<uint64_t> weight;
  uint64_t g = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i].weight == 0) continue;
    index.push_back(static_cast<uint32_t>(i));
    weight.push_back(targets[i].weight);
    g = std::gcd(g, uint64_t{targets[i].weight});
  }
  if (index.empty()) return;
  uint64_t sum = 0;
  for (uint64_t& w : weight) sum += (w /= g);
  if (sum > kMaxSlots) {
    uint64_t scaled = 0;
    for (uint64_t& w : weight) scaled += (w = std::max<uint64_t>(1, w * kMaxSlots / sum));
    sum = scaled;
  }

  // Min-heap on the next turn's deadline (2 k + 1) / (2 w), compared by cross-multiplication.
  struct Turn {
    uint64_t k;
    uint32_t slot;  // position in index/weight
  };
  auto later = [&weight](const Turn& a, const Turn& b) {
    uint64_t lhs = (2 * a.k + 1) * weight[b.slot];
    uint64_t rhs = (2 * b.k + 1) * weight[a.slot];
    return lhs != rhs ? lhs > rhs : a.slot > b.slot;
  };
  std::priority_queue<Turn, std::vector<Turn>, decltype(later)> heap(later);
  for (uint32_t s = 0; s < index.size(); ++s) heap.push(Turn{0, s});
  slots_.reserve(sum);
  for (uint64_t n = 0; n < sum; ++n) {
    Turn t = heap.top();
    heap.pop();
    slots_.push_back(index[t.slot]);
    heap.push(Turn{t.k + 1, t.slot});
  }
}

}  // namespace sluice::balancer
