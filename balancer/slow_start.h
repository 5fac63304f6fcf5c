// Slow start: a target that was added or turned healthy ramps its weight linearly over
// `slow_start`, so a cold cache or JIT is not handed a full share at once. "Ready" is
// TargetState::readySince(): creation by a reload, or a health-check flip to healthy; the end of
// a passive ejection does not restart the ramp.
#pragma once

#include <cstdint>
#include <optional>

#include "config/config.h"

namespace sluice::balancer {

// Effective weights are in units of 1/kWeightUnit of a configured weight, so a ramp has
// resolution even for `weight: 1` (config weights are <= 1,000,000, so x100 fits uint32).
inline constexpr uint32_t kWeightUnit = 100;

// The effective weight of a target of configured `weight` that became ready at `ready_since_ms`,
// at `now_ms`: weight x kWeightUnit x f with f rising linearly from 1/10 at ready_since to 1 at
// ready_since + slow_start (and 1 without slow_start, or before ready_since is reached by a clock
// that went back). Never 0 for a weight >= 1. Any thread; pure.
uint32_t effectiveWeight(uint32_t weight, int64_t ready_since_ms,
                         std::optional<config::Duration> slow_start, int64_t now_ms);

// When the effective weight of a ramping target should next be recomputed: every 1/20 of the
// ramp (at least 100 ms apart), and at the ramp's end; INT64_MAX once the ramp is over. The
// worker rebuilds its selector then (see effective_weights.h).
int64_t nextRampStep(int64_t ready_since_ms, std::optional<config::Duration> slow_start,
                     int64_t now_ms);

}  // namespace sluice::balancer
