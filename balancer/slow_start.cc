#include "balancer/slow_start.h"

#include <algorithm>
#include <limits>

namespace sluice::balancer {

namespace {
constexpr int64_t kSteps = 20;
constexpr int64_t kMinStepMs = 100;

bool ramping(int64_t ready_since_ms, std::optional<config::Duration> slow_start, int64_t now_ms) {
  return slow_start && slow_start->count() > 0 && now_ms >= ready_since_ms &&
         now_ms - ready_since_ms < slow_start->count();
}
}  // namespace

uint32_t effectiveWeight(uint32_t weight, int64_t ready_since_ms,
                         std::optional<config::Duration> slow_start, int64_t now_ms) {
  const uint64_t full = std::min<uint64_t>(static_cast<uint64_t>(weight) * kWeightUnit,
                                           std::numeric_limits<uint32_t>::max());
  if (weight == 0) return 0;
  if (!ramping(ready_since_ms, slow_start, now_ms)) return static_cast<uint32_t>(full);
  const double progress =
      static_cast<double>(now_ms - ready_since_ms) / static_cast<double>(slow_start->count());
  const double f = 0.1 + 0.9 * progress;
  return static_cast<uint32_t>(std::max<double>(1.0, static_cast<double>(full) * f));
}

int64_t nextRampStep(int64_t ready_since_ms, std::optional<config::Duration> slow_start,
                     int64_t now_ms) {
  if (!ramping(ready_since_ms, slow_start, now_ms)) return std::numeric_limits<int64_t>::max();
  const int64_t end = ready_since_ms + slow_start->count();
  const int64_t step = std::max(slow_start->count() / kSteps, kMinStepMs);
  return std::min(end, now_ms + step);
}

}  // namespace sluice::balancer
