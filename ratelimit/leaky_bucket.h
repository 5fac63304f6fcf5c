// Leaky bucket with nginx limit_req semantics: requests leave at `rate`; a request that finds
// the bucket holding `excess` earlier requests waits excess / rate, and one that would make the
// excess exceed `burst` is rejected (and does not count). The first request of a key, and any
// request after the bucket drained, passes at once. The caller delays; nothing here sleeps.
#pragma once

#include <cstdint>

#include "ratelimit/decision.h"

namespace sluice::ratelimit {

class LeakyBucket {
 public:
  struct State {
    double excess = 0;  // requests queued ahead, in requests (fractional while draining)
    Nanos last = 0;
    bool seen = false;
  };

  LeakyBucket(double count, Nanos per, uint64_t burst);

  // Admits one request and sets `delay`, or rejects it. Called under the key's shard lock.
  Decision take(State& s, Nanos now) const;
  // What forgetting `s` would give back to its client (0: as good as fresh); ranks keys for
  // eviction from a full table.
  uint64_t evictionCost(const State& s, Nanos now) const;

  uint64_t burst() const { return burst_; }
  double perNano() const { return per_nano_; }

 private:
  double per_nano_;  // requests per nanosecond
  uint64_t burst_;
};

}  // namespace sluice::ratelimit
