#include "balancer/ejection.h"

#include <algorithm>

namespace sluice::balancer {

bool EjectionPool::tryEject(const void* target, int64_t now_ms, int64_t until_ms, size_t pool_size,
                            uint32_t max_percent) {
  if (max_percent == 0 || pool_size == 0) return false;
  size_t allowed = std::max<size_t>(1, pool_size * std::min<uint32_t>(max_percent, 100) / 100);
  std::lock_guard lock(mu_);
  prune(now_ms);
  for (auto& [who, until] : ejected_) {
    if (who == target) {  // already counted (a late failure racing its own ejection)
      until = std::max(until, until_ms);
      return true;
    }
  }
  if (ejected_.size() >= allowed) return false;
  ejected_.emplace_back(target, until_ms);
  return true;
}

size_t EjectionPool::ejectedCount(int64_t now_ms) const {
  std::lock_guard lock(mu_);
  prune(now_ms);
  return ejected_.size();
}

void EjectionPool::prune(int64_t now_ms) const {
  std::erase_if(ejected_, [now_ms](const auto& e) { return e.second <= now_ms; });
}

std::optional<int64_t> Ejection::onFailure(int64_t now_ms, const config::PassiveHealth& cfg,
                                           EjectionPool& pool, size_t pool_size) {
  std::lock_guard lock(mu_);
  int64_t until = until_ms_.load(std::memory_order_relaxed);
  if (now_ms < until) return std::nullopt;
  uint32_t run = consecutive_.load(std::memory_order_relaxed) + 1;
  consecutive_.store(run, std::memory_order_relaxed);
  if (cfg.consecutive_failures == 0 || run < cfg.consecutive_failures) return std::nullopt;

  const int64_t base = std::max<int64_t>(cfg.base_ejection.count(), 1);
  const int64_t cap = std::max<int64_t>(base, kMaxEjection.count());
  if (until != INT64_MIN && now_ms - until >= cap) times_ejected_ = 0;  // behaved for a while
  uint32_t times = times_ejected_ + 1;
  int64_t duration = base;
  for (uint32_t i = 1; i < times && duration < cap; ++i) duration *= 2;
  duration = std::min(duration, cap);

  if (!pool.tryEject(this, now_ms, now_ms + duration, pool_size, cfg.max_ejection_percent)) {
    return std::nullopt;  // the run stays at the threshold: the next failure tries again
  }
  times_ejected_ = times;
  consecutive_.store(0, std::memory_order_relaxed);
  until_ms_.store(now_ms + duration, std::memory_order_release);
  return now_ms + duration;
}

void Ejection::onSuccess() {
  if (consecutive_.load(std::memory_order_relaxed) != 0) {
    consecutive_.store(0, std::memory_order_relaxed);
  }
}

uint32_t Ejection::timesEjected() const {
  std::lock_guard lock(mu_);
  return times_ejected_;
}

}  // namespace sluice::balancer
