// The retry budget of an upstream: retries in flight stay within `budget` x active requests, with
// a floor so that a quiet upstream can still retry.
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice::balancer {

// One per upstream (in UpstreamState), shared by every worker; lock-free.
class RetryBudget {
 public:
  // Retries always allowed in flight at once, whatever the traffic (Envoy's retry budget has the
  // same floor): with 2 requests active a 20% budget would otherwise never allow one.
  static constexpr int64_t kMinConcurrentRetries = 3;

  // Called by a worker before a retry (not before a first try). `active_requests` = requests in
  // flight to the upstream (UpstreamState::active()), `budget` = retries.budget (0.2 = 20%).
  // True = go ahead, and call release() when that retry ends; false = no retry, return the
  // failure as it is.
  bool tryAcquire(int64_t active_requests, double budget);
  void release();
  int64_t inFlight() const { return in_flight_.load(std::memory_order_relaxed); }

  // The limit tryAcquire applies: max(kMinConcurrentRetries, floor(budget x active)).
  static int64_t limit(int64_t active_requests, double budget);

 private:
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace sluice::balancer
