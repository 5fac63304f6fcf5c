#include "balancer/health_state.h"

#include <algorithm>

namespace sluice::balancer {

HealthChange HealthState::onCheck(bool passed, const config::HealthCheck& cfg) {
  if (passed) {
    failures_ = 0;
    ++passes_;
    if (!healthy_ && passes_ >= std::max<uint32_t>(cfg.healthy_threshold, 1)) {
      healthy_ = true;
      return HealthChange::BecameHealthy;
    }
  } else {
    passes_ = 0;
    ++failures_;
    if (healthy_ && failures_ >= std::max<uint32_t>(cfg.unhealthy_threshold, 1)) {
      healthy_ = false;
      return HealthChange::BecameUnhealthy;
    }
  }
  return HealthChange::None;
}

config::Duration jitteredInterval(config::Duration interval, uint64_t random) {
  const int64_t base = interval.count();
  const int64_t spread = base / 10;
  if (spread <= 0) return config::Duration{std::max<int64_t>(base, 1)};
  // random % (2 spread + 1) - spread is in [-spread, spread]; the modulo bias is negligible
  // for intervals far below 2^64 ms.
  int64_t offset = static_cast<int64_t>(random % static_cast<uint64_t>(2 * spread + 1)) - spread;
  return config::Duration{std::max<int64_t>(base + offset, 1)};
}

}  // namespace sluice::balancer
