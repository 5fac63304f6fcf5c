// What an operator changed about a target at run time through the admin API (issue 16 item 9):
// drained (no new picks; tries in flight finish; health checks go on; not "unhealthy") and a
// weight replacing the configured one. Process-wide like the rest of TargetState, read by every
// worker when it rebuilds its selector (effective_weights.cc); kept until the next successful
// reload, which clears it so the config is in force again.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

namespace sluice::balancer {

class TargetState;

// Lock-free; written by the main thread, read by workers. Change it through the functions
// below, which also tell the workers (the upstream's generation).
class TargetOverride {
 public:
  bool drained() const { return drained_.load(std::memory_order_acquire); }
  std::optional<uint32_t> weight() const {
    const int64_t w = weight_.load(std::memory_order_acquire);
    return w < 0 ? std::nullopt : std::optional<uint32_t>(static_cast<uint32_t>(w));
  }
  // The weight picks use: the override, or `configured` without one.
  uint32_t weightOr(uint32_t configured) const {
    const int64_t w = weight_.load(std::memory_order_acquire);
    return w < 0 ? configured : static_cast<uint32_t>(w);
  }

 private:
  friend bool setDrained(TargetState& target, bool drained);
  friend bool setWeightOverride(TargetState& target, std::optional<uint32_t> weight);
  std::atomic<bool> drained_{false};
  std::atomic<int64_t> weight_{-1};  // -1: none
};

// Admin API, main thread. Each returns whether something changed; a change bumps the upstream's
// generation, so every worker rebuilds its selector at its next pick (STYLE.md §2: selectors are
// rebuilt whole, never edited).
bool setDrained(TargetState& target, bool drained);
bool setWeightOverride(TargetState& target, std::optional<uint32_t> weight);  // null: config's
// Both back to the config (a reload).
bool clearOverride(TargetState& target);

}  // namespace sluice::balancer
