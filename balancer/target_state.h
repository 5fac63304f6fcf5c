// What every worker of the process sees at once about an upstream and its targets: in-flight
// request counts, health, ejection, slow-start origin, breaker, and a generation that changes
// whenever availability changes. Kept OUTSIDE config snapshots: the proxy keys UpstreamState by
// upstream name and TargetState by (upstream name, target address), so both survive reloads.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>

#include "balancer/circuit_breaker.h"
#include "balancer/ejection.h"
#include "balancer/health_state.h"
#include "balancer/retry_budget.h"
#include "balancer/target_override.h"
#include "config/config.h"

namespace sluice::balancer {

// One per upstream name; shared by every worker; all members thread-safe.
class UpstreamState {
 public:
  // Changes (grows) whenever a target's availability changes by an event (health flip,
  // ejection). A worker compares it, once per pick, with the value its selector was built at
  // and rebuilds on a difference; time-driven changes (an ejection ending, slow-start steps) are
  // covered by EffectiveWeights::rebuild_at_ms instead. Acquire: the states a rebuild then reads
  // are at least as new as the change.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  void bumpGeneration() { generation_.fetch_add(1, std::memory_order_release); }

  // Requests in flight to any target of the upstream (bounded loads' mean, the retry budget).
  int64_t active() const { return active_.load(std::memory_order_relaxed); }

  EjectionPool ejections;    // passive health: who is ejected, for max_ejection_percent
  ConcurrencyGate requests;  // circuit_breaker.max_requests
  RetryBudget retries;       // retries.budget

 private:
  friend class TargetState;
  alignas(64) std::atomic<int64_t> active_{0};
  alignas(64) std::atomic<uint64_t> generation_{1};
};

// One per (upstream, target address); shared by every worker. Availability = healthy and not
// ejected; the circuit breaker does not remove a target from selectors (the worker asks
// breaker.allow() after a pick and, when denied, picks again with that target excluded).
class TargetState {
 public:
  // `ready_since_ms`: when slow start counts from -- now for a target added by a reload,
  // kReadyLongAgo for the targets of the first config (no ramp at process start).
  static constexpr int64_t kReadyLongAgo = std::numeric_limits<int64_t>::min() / 4;

  TargetState(std::shared_ptr<UpstreamState> upstream, int64_t ready_since_ms);
  TargetState(const TargetState&) = delete;
  TargetState& operator=(const TargetState&) = delete;

  UpstreamState& upstream() const { return *upstream_; }

  // -- Request accounting: by the worker, after a pick, around each try to this target
  // (onRequestStart when the try starts, onRequestEnd exactly once when it ends, any outcome).
  void onRequestStart();
  void onRequestEnd();
  int64_t active() const { return active_.load(std::memory_order_relaxed); }

  // -- Availability, read by the worker building its selector.
  bool healthy() const { return healthy_.load(std::memory_order_acquire); }
  int64_t ejectedUntil() const { return ejection.ejectedUntil(); }
  int64_t readySince() const { return ready_since_ms_.load(std::memory_order_acquire); }
  bool available(int64_t now_ms) const { return healthy() && !ejection.ejected(now_ms); }
  // Available and not drained by the admin API: may take a new request.
  bool selectable(int64_t now_ms) const { return available(now_ms) && !overrides.drained(); }

  // -- Active health checks: by the target's one checker, with each probe's verdict. A flip
  // changes availability and bumps the upstream's generation; turning healthy restarts slow
  // start from `now_ms`. Returns the flip for logs and sluice_upstream_target_healthy.
  HealthChange onHealthCheck(bool passed, int64_t now_ms, const config::HealthCheck& cfg);

  // -- Passive health: by a worker, after each try (failure = connect failure, reset, 5xx).
  // `pool_size` = targets in the upstream now. Returns true when this failure ejected the target
  // (the generation is bumped; log it). Ejection ends by time: see EffectiveWeights.
  bool onPassiveFailure(int64_t now_ms, const config::PassiveHealth& cfg, size_t pool_size);
  void onPassiveSuccess() { ejection.onSuccess(); }

  // The state machines themselves, for metrics and for the breaker calls.
  CircuitBreaker breaker;
  Ejection ejection;
  // The admin API's drain and weight (target_override.h); cleared by a reload.
  TargetOverride overrides;

 private:
  std::shared_ptr<UpstreamState> upstream_;
  alignas(64) std::atomic<int64_t> active_{0};
  alignas(64) std::atomic<bool> healthy_{true};
  std::atomic<int64_t> ready_since_ms_;
  HealthState health_;  // the checker's thread only
};

}  // namespace sluice::balancer
