// Fixed window: at most `limit` requests per window; windows are aligned to multiples of the
// window length on the injected clock, and the counter starts afresh at each boundary.
#pragma once

#include <cstdint>

#include "ratelimit/decision.h"

namespace sluice::ratelimit {

class FixedWindow {
 public:
  struct State {
    Nanos start = -1;  // start of the window `count` belongs to
    uint64_t count = 0;
  };

  FixedWindow(uint64_t limit, Nanos window);

  // Counts one request if the window has room. Called under the key's shard lock.
  Decision take(State& s, Nanos now) const;
  // What forgetting `s` would give back to its client (0: as good as fresh); ranks keys for
  // eviction from a full table.
  uint64_t evictionCost(const State& s, Nanos now) const;

  uint64_t limit() const { return limit_; }
  Nanos window() const { return window_; }

 private:
  uint64_t limit_;
  Nanos window_;
};

}  // namespace sluice::ratelimit
