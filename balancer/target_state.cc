#include "balancer/target_state.h"

#include <cassert>
#include <utility>

namespace sluice::balancer {

TargetState::TargetState(std::shared_ptr<UpstreamState> upstream, int64_t ready_since_ms)
    : upstream_(std::move(upstream)), ready_since_ms_(ready_since_ms) {
  assert(upstream_ != nullptr);
}

void TargetState::onRequestStart() {
  active_.fetch_add(1, std::memory_order_relaxed);
  upstream_->active_.fetch_add(1, std::memory_order_relaxed);
}

void TargetState::onRequestEnd() {
  [[maybe_unused]] int64_t before = active_.fetch_sub(1, std::memory_order_relaxed);
  assert(before > 0);
  upstream_->active_.fetch_sub(1, std::memory_order_relaxed);
}

HealthChange TargetState::onHealthCheck(bool passed, int64_t now_ms,
                                        const config::HealthCheck& cfg) {
  HealthChange change = health_.onCheck(passed, cfg);
  if (change == HealthChange::None) return change;
  if (change == HealthChange::BecameHealthy) {
    ready_since_ms_.store(now_ms, std::memory_order_release);
  }
  healthy_.store(change == HealthChange::BecameHealthy, std::memory_order_release);
  upstream_->bumpGeneration();
  return change;
}

bool TargetState::onPassiveFailure(int64_t now_ms, const config::PassiveHealth& cfg,
                                   size_t pool_size) {
  if (!ejection.onFailure(now_ms, cfg, upstream_->ejections, pool_size)) return false;
  upstream_->bumpGeneration();
  return true;
}

}  // namespace sluice::balancer
