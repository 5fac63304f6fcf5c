// Token bucket (rate, burst) as GCRA: one "theoretical arrival time" per key, integer time only,
// so allow/deny sequences at refill edges are exact.
#pragma once

#include "ratelimit/decision.h"

namespace sluice::ratelimit {

class TokenBucket {
 public:
  struct State {
    Nanos tat = 0;  // when the bucket is full again; <= now means full
  };

  // `count` tokens per `per` nanoseconds refill a bucket of `burst` tokens (at least 1).
  TokenBucket(double count, Nanos per, uint64_t burst);

  // Takes one token if there is one. Called under the key's shard lock.
  Decision take(State& s, Nanos now) const;
  // What forgetting `s` would give back to its client (0: as good as fresh); ranks keys for
  // eviction from a full table.
  uint64_t evictionCost(const State& s, Nanos now) const;

  Nanos interval() const { return interval_; }
  uint64_t burst() const { return burst_; }

 private:
  Nanos interval_;  // time to refill one token, rounded to the nanosecond (>= 1)
  uint64_t burst_;
  Nanos tolerance_;  // burst * interval
};

}  // namespace sluice::ratelimit
