#include "balancer/retry_budget.h"

#include <algorithm>

namespace sluice::balancer {

RetryBudget::Slot& RetryBudget::current(int64_t now_ms) {
  const int64_t second = now_ms / 1000;
  Slot& s = slots_[static_cast<size_t>(second % kWindowSeconds)];
  int64_t seen = s.second.load(std::memory_order_relaxed);
  if (seen != second && s.second.compare_exchange_strong(seen, second, std::memory_order_relaxed)) {
    s.requests.store(0, std::memory_order_relaxed);
    s.retries.store(0, std::memory_order_relaxed);
  }
  return s;
}

int64_t RetryBudget::sum(int64_t now_ms, std::atomic<int64_t> Slot::*field) const {
  const int64_t second = now_ms / 1000;
  int64_t total = 0;
  for (const Slot& s : slots_) {
    int64_t at = s.second.load(std::memory_order_relaxed);
    if (at > second - kWindowSeconds && at <= second)
      total += (s.*field).load(std::memory_order_relaxed);
  }
  return total;
}

void RetryBudget::onRequest(int64_t now_ms) {
  current(now_ms).requests.fetch_add(1, std::memory_order_relaxed);
}

int64_t RetryBudget::limit(int64_t now_ms, double budget) const {
  double share = std::max(budget, 0.0) * static_cast<double>(requests(now_ms));
  return static_cast<int64_t>(share) + kMinRetriesPerSecond * kWindowSeconds;
}

bool RetryBudget::tryAcquire(int64_t now_ms, double budget) {
  if (retries(now_ms) >= limit(now_ms, budget)) return false;
  current(now_ms).retries.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace sluice::balancer
