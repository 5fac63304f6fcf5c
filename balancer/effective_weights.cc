#include "balancer/effective_weights.h"

#include <algorithm>

#include "balancer/slow_start.h"
#include "balancer/target_state.h"

namespace sluice::balancer {

EffectiveWeights effectiveWeights(const std::vector<TargetWeight>& configured,
                                  const UpstreamState* upstream,
                                  std::optional<config::Duration> slow_start, int64_t now_ms) {
  EffectiveWeights out;
  if (upstream != nullptr) out.generation = upstream->generation();
  out.targets.reserve(configured.size());
  for (const TargetWeight& t : configured) {
    TargetWeight e = t;
    if (t.state == nullptr) {
      e.weight = effectiveWeight(t.weight, TargetState::kReadyLongAgo, std::nullopt, now_ms);
    } else if (!t.state->available(now_ms)) {
      e.weight = 0;
      if (t.state->healthy()) {  // ejected: back by time alone
        out.rebuild_at_ms = std::min(out.rebuild_at_ms, t.state->ejectedUntil());
      }
    } else if (t.state->overrides.drained()) {
      e.weight = 0;  // drained by the admin API: back when enabled (the generation moves)
    } else {
      const int64_t since = t.state->readySince();
      e.weight = effectiveWeight(t.state->overrides.weightOr(t.weight), since, slow_start, now_ms);
      out.rebuild_at_ms = std::min(out.rebuild_at_ms, nextRampStep(since, slow_start, now_ms));
    }
    out.targets.push_back(e);
  }
  return out;
}

bool needsRebuild(const EffectiveWeights& built, const UpstreamState* upstream, int64_t now_ms) {
  if (now_ms >= built.rebuild_at_ms) return true;
  return upstream != nullptr && upstream->generation() != built.generation;
}

}  // namespace sluice::balancer
