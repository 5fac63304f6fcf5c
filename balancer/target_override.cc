#include "balancer/target_override.h"

#include "balancer/target_state.h"

namespace sluice::balancer {

bool setDrained(TargetState& target, bool drained) {
  // Release: a worker that sees the new generation (acquire) sees the flag.
  if (target.overrides.drained_.exchange(drained, std::memory_order_acq_rel) == drained) {
    return false;
  }
  target.upstream().bumpGeneration();
  return true;
}

bool setWeightOverride(TargetState& target, std::optional<uint32_t> weight) {
  const int64_t value = weight ? static_cast<int64_t>(*weight) : -1;
  if (target.overrides.weight_.exchange(value, std::memory_order_acq_rel) == value) return false;
  target.upstream().bumpGeneration();
  return true;
}

bool clearOverride(TargetState& target) {
  const bool drained = setDrained(target, false);
  const bool weight = setWeightOverride(target, std::nullopt);
  return drained || weight;
}

}  // namespace sluice::balancer
