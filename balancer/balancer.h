// The load-balancing interface: picks one target of an upstream for a request. A Balancer is
// built whole from the target list (and rebuilt, never edited, when targets change) and used by
// ONE worker thread, so implementations keep their state without locks.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace sluice::balancer {

struct TargetWeight {
  uint32_t weight = 1;
};

struct PickRequest {
  uint64_t hash = 0;             // for hashing balancers: the request key's hash
  uint64_t exclude_mask = 0;     // bit i set: target i already failed this request (retries)
};

class Balancer {
 public:
  virtual ~Balancer() = default;
  // Index of the chosen target in the list the balancer was built from, or -1 when none can be
  // chosen (all excluded or the list is empty).
  virtual int pick(const PickRequest& request) = 0;
};

}  // namespace sluice::balancer
