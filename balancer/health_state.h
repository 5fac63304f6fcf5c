// Active health checks, the pure part: the threshold state machine of one target and the jitter
// of the probe interval. The proxy runs the probes (one checker per target per process).
#pragma once

#include <cstdint>

#include "config/config.h"

namespace sluice::balancer {

enum class HealthChange : uint8_t { None, BecameHealthy, BecameUnhealthy };

// Targets start healthy: a fresh process or a newly added target takes traffic at once (as nginx
// and HAProxy do) instead of waiting healthy_threshold x interval; a dead one is caught by
// passive ejection and by unhealthy_threshold probes. Not thread-safe: only the target's one
// checker calls onCheck; workers read health through TargetState::healthy().
class HealthState {
 public:
  explicit HealthState(bool healthy = true) : healthy_(healthy) {}

  // Called by the checker with each probe's verdict (passed = answered in time with a status in
  // expect_status). healthy_threshold passes in a row make an unhealthy target healthy;
  // unhealthy_threshold failures in a row make a healthy one unhealthy (thresholds of 0 act as 1).
  HealthChange onCheck(bool passed, const config::HealthCheck& cfg);

  bool healthy() const { return healthy_; }
  uint32_t consecutivePasses() const { return passes_; }
  uint32_t consecutiveFailures() const { return failures_; }

 private:
  bool healthy_;
  uint32_t passes_ = 0;
  uint32_t failures_ = 0;
};

// The delay before a target's next probe: `interval` spread uniformly over +-10% by `random`
// (any 64-bit value from the caller's generator), so the checkers of many targets and processes
// do not probe in lockstep. Never below 1 ms.
config::Duration jitteredInterval(config::Duration interval, uint64_t random);

}  // namespace sluice::balancer
