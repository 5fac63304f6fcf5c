// The input of a selector rebuild: every target of an upstream with its effective weight now
// (0 when unavailable, ramped during slow start), and when to rebuild next.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "balancer/balancer.h"
#include "config/config.h"

namespace sluice::balancer {

class UpstreamState;

struct EffectiveWeights {
  std::vector<TargetWeight> targets;  // same order and size as the input
  // UpstreamState::generation() read BEFORE the target states (0 without an upstream state).
  uint64_t generation = 0;
  // Rebuild at this time even if the generation did not change: an ejection ends or a
  // slow-start step is due. INT64_MAX = nothing time-driven pending.
  int64_t rebuild_at_ms = INT64_MAX;
};

// Called by a worker on its own thread when it builds a selector: after adopting a snapshot,
// when upstream.generation() differs from the last result's, or at rebuild_at_ms. `configured`
// holds each target's configured weight, its TargetState (null = always available, no ramp) and
// id. Then: makeBalancer(name, result.targets, options), swapped in whole.
EffectiveWeights effectiveWeights(const std::vector<TargetWeight>& configured,
                                  const UpstreamState* upstream,
                                  std::optional<config::Duration> slow_start, int64_t now_ms);

// Whether a selector built from `built` must be rebuilt now (the per-pick check: two loads).
bool needsRebuild(const EffectiveWeights& built, const UpstreamState* upstream, int64_t now_ms);

}  // namespace sluice::balancer
