// Passive health (outlier ejection): consecutive failures of live traffic eject a target for a
// time that doubles with each repeated ejection, never more than `max_ejection_percent` of a
// pool at once. Pure: time is a parameter, settings come with every call.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "config/config.h"

namespace sluice::balancer {

// The longest ejection, whatever the doublings (Envoy's max_ejection_time default); an ejection
// is never shorter than base_ejection, so the cap is max(base_ejection, kMaxEjection).
inline constexpr config::Duration kMaxEjection{300'000};

// One per upstream (kept outside config snapshots), shared by every worker: who is ejected until
// when, so the percentage rule sees the whole pool. Thread-safe (a mutex; ejections are rare).
class EjectionPool {
 public:
  // Called by Ejection::onFailure when `target` reached its threshold. Records the ejection and
  // returns true if the count of targets ejected at `now_ms` (this one included) stays within
  // max(1, pool_size x max_percent / 100) -- like Envoy, one target may always be ejected (so a
  // single-target pool that fails is answered 503 at once); max_percent 0 disables ejection.
  bool tryEject(const void* target, int64_t now_ms, int64_t until_ms, size_t pool_size,
                uint32_t max_percent);
  // Targets still ejected at `now_ms` (metrics, tests).
  size_t ejectedCount(int64_t now_ms) const;

 private:
  void prune(int64_t now_ms) const;  // mu_ held

  mutable std::mutex mu_;
  mutable std::vector<std::pair<const void*, int64_t>> ejected_;  // (target, until)
};

// One per target (kept with its TargetState), shared by every worker; thread-safe. Successes are
// lock-free; failures take a small mutex.
class Ejection {
 public:
  // Called by a worker when a try to the target failed passively: connect failure, reset or a
  // 5xx response. Failures while the target is ejected (requests already in flight) are ignored.
  // Returns the ejection deadline when this failure ejected the target; the caller makes it
  // visible (TargetState::onPassiveFailure does). Ejection time: base_ejection x
  // 2^(times ejected - 1), capped (kMaxEjection); the count of times ejected returns to zero
  // once the target has stayed un-ejected for a whole cap period after its last ejection.
  std::optional<int64_t> onFailure(int64_t now_ms, const config::PassiveHealth& cfg,
                                   EjectionPool& pool, size_t pool_size);
  // Called by a worker on a try that succeeded: resets the run of failures.
  void onSuccess();

  bool ejected(int64_t now_ms) const { return now_ms < until_ms_.load(std::memory_order_acquire); }
  int64_t ejectedUntil() const { return until_ms_.load(std::memory_order_acquire); }
  uint32_t timesEjected() const;
  uint32_t consecutiveFailures() const { return consecutive_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mu_;
  std::atomic<uint32_t> consecutive_{0};
  std::atomic<int64_t> until_ms_{INT64_MIN};
  uint32_t times_ejected_ = 0;  // mu_
};

}  // namespace sluice::balancer
