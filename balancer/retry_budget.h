// The retry budget of an upstream: over the last kWindowSeconds, retries stay within `budget` x
// the requests sent to the upstream, plus a small allowance per second (Finagle's RetryBudget;
// gRPC's retry throttling has the same shape). A rate, not a count in flight: the burst of
// retries when a target dies under load is paid for by the traffic before it, while a fleet that
// answers 503 to everything sees at most (1 + budget) x the load.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace sluice::balancer {

// One per upstream (in UpstreamState), shared by every worker; lock-free. Counts are per
// one-second slot of a ring; a slot is reset when its second comes round again (a race on that
// reset may lose a few counts, which a budget can afford).
class RetryBudget {
 public:
  static constexpr int64_t kWindowSeconds = 10;
  // Retries per second allowed whatever the traffic, so a quiet upstream can still retry.
  static constexpr int64_t kMinRetriesPerSecond = 10;

  // A first try was sent (retries are not counted here). `now_ms` is a monotonic clock.
  void onRequest(int64_t now_ms);
  // Called before a retry. True = go ahead (the retry is counted); false = no retry, the
  // failure stands. `budget` = retries.budget (0.2 = 20%).
  bool tryAcquire(int64_t now_ms, double budget);

  // The retries the window allows now, and what it holds (for tests and the status page).
  int64_t limit(int64_t now_ms, double budget) const;
  int64_t requests(int64_t now_ms) const { return sum(now_ms, &Slot::requests); }
  int64_t retries(int64_t now_ms) const { return sum(now_ms, &Slot::retries); }

 private:
  struct Slot {
    std::atomic<int64_t> second{-1};
    std::atomic<int64_t> requests{0};
    std::atomic<int64_t> retries{0};
  };
  Slot& current(int64_t now_ms);
  int64_t sum(int64_t now_ms, std::atomic<int64_t> Slot::*field) const;

  std::array<Slot, kWindowSeconds> slots_;
};

}  // namespace sluice::balancer
