#include "balancer/retry_budget.h"

#include <algorithm>
#include <cassert>

namespace sluice::balancer {

int64_t RetryBudget::limit(int64_t active_requests, double budget) {
  double share = std::max(budget, 0.0) * static_cast<double>(std::max<int64_t>(active_requests, 0));
  return std::max(kMinConcurrentRetries, static_cast<int64_t>(share));
}

bool RetryBudget::tryAcquire(int64_t active_requests, double budget) {
  const int64_t max = limit(active_requests, budget);
  int64_t cur = in_flight_.load(std::memory_order_relaxed);
  while (cur < max) {
    if (in_flight_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

void RetryBudget::release() {
  [[maybe_unused]] int64_t before = in_flight_.fetch_sub(1, std::memory_order_relaxed);
  assert(before > 0);
}

}  // namespace sluice::balancer
