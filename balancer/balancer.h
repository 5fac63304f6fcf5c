// The load-balancing interface: picks one target of an upstream for a request. A Balancer is
// built whole from the upstream's FULL target list with each target's effective weight (0 = not
// available now: unhealthy, ejected) and rebuilt, never edited, when availability or weights
// change (see effective_weights.h). Each instance is used by ONE worker thread, so
// implementations keep their own state without locks; shared load comes in via TargetState.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace sluice::balancer {

class TargetState;

// One target of the list a balancer is built from; index i of the list is what pick() returns.
struct TargetWeight {
  // Effective weight (slow start applied, see slow_start.h); 0 = never picked.
  uint32_t weight = 1;
  // The shared per-process state whose active() count least_conn, random_two and bounded
  // consistent_hash read; null counts as 0 active requests. Must outlive the balancer.
  const TargetState* state = nullptr;
  // A stable identity for consistent_hash ring positions: hashKey(address). 0 = derived from the
  // index (then removing a target in the middle of the list remaps more keys).
  uint64_t id = 0;
};

// Built once per (re)build by the worker, from the upstream's config.
struct BalancerOptions {
  // consistent_hash bounded loads: no target above factor x mean active requests; unset = off.
  std::optional<double> balance_factor;
  // Seeds the balancer's own generator (random_two); the worker passes a per-worker random value,
  // tests a constant.
  uint64_t seed = 0x5EED;
};

struct PickRequest {
  uint64_t hash = 0;          // for hashing balancers: hashKey() of the request's key
  uint64_t exclude_mask = 0;  // bit i set: target i already failed this request (retries); only
                              // targets 0..63 can be excluded
  // No clock: time-dependent weights (slow start, health) are applied when the balancer is built.
};

class Balancer {
 public:
  virtual ~Balancer() = default;
  // Called by the worker that built it, once per try of a request. Index of the chosen target
  // in the list the balancer was built from, or -1 when none can be chosen (empty list, every
  // target has weight 0, or all available ones are excluded): the caller answers 503 at once.
  virtual int pick(const PickRequest& request) = 0;
};

// Which targets can be chosen, computed once at build so that "nothing left" is O(1).
class Candidates {
 public:
  explicit Candidates(const std::vector<TargetWeight>& targets) {
    for (size_t i = 0; i < targets.size(); ++i) {
      if (targets[i].weight == 0) continue;
      ++count_;
      if (i < 64) {
        low_mask_ |= uint64_t{1} << i;
      } else {
        any_high_ = true;
      }
    }
  }
  size_t count() const { return count_; }
  // Whether some available target is left once `exclude_mask` is applied.
  bool anyLeft(uint64_t exclude_mask) const { return any_high_ || (low_mask_ & ~exclude_mask); }
  static bool excluded(uint64_t exclude_mask, size_t i) {
    return i < 64 && ((exclude_mask >> i) & 1);
  }

 private:
  size_t count_ = 0;
  uint64_t low_mask_ = 0;
  bool any_high_ = false;
};

}  // namespace sluice::balancer
