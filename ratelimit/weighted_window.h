// The approximate sliding window (`sliding_window: {precision: approximate}`), a weighted
// two-window counter (the approach of Cloudflare and of Envoy's local limiters): the previous
// fixed window's count is weighted by the share of it that still lies inside the sliding window
// ending now, and added to the current window's count. The default, exact, is sliding_window.h.
//
// Error bound: the estimate assumes the previous window's requests were spread evenly over it.
// Exact when they were. At worst (the previous window's requests all at its very end) the true
// number of requests in the trailing window of length `window` can exceed `limit` by the previous
// window's count times the elapsed share of the current window, i.e. by less than `limit`; with
// the requests all at its start, it under-admits by the same amount. Two integers per key.
#pragma once

#include <cstdint>

#include "ratelimit/decision.h"

namespace sluice::ratelimit {

class WeightedWindow {
 public:
  struct State {
    Nanos start = -1;  // start of the current fixed window
    uint64_t current = 0;
    uint64_t previous = 0;
  };

  WeightedWindow(uint64_t limit, Nanos window);

  // Counts one request if the weighted estimate leaves room for it. Called under the key's lock.
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
