// The exact sliding window for large limits: a ring of per-sub-window admission counts. The
// window is cut into kSlidingRingBuckets sub-windows of g = ceil(window / kSlidingRingBuckets);
// a request passes when the sub-window it falls in and the kSlidingRingBuckets before it (the
// oldest one partly expired, counted whole) hold fewer than `limit` admissions.
//
// Bound: never over-admits. Any trailing window (t - window, t] lies inside the buckets that the
// last admission in it counted, and that admission found fewer than `limit` there, so every
// trailing window holds at most `limit`. It under-admits slightly: a request is refused only when
// `limit` admissions lie within the last window + g (at most window * 1.01 + 100 ns), so a client
// is held to at least `limit` per 1.01 windows.
//
// Memory per key: (kSlidingRingBuckets + 1) 32-bit counts = 404 bytes, allocated at the first
// request, plus 24 bytes. A sub-window admits at most 2^32 - 1 requests (refusing beyond).
#pragma once

#include <cstdint>
#include <memory>

#include "ratelimit/decision.h"

namespace sluice::ratelimit {

inline constexpr int64_t kSlidingRingBuckets = 100;  // under-admission bound 1 / 100 window

class SlidingRing {
 public:
  struct State {
    std::unique_ptr<uint32_t[]> counts;  // kSlidingRingBuckets + 1, by sub-window index mod that
    int64_t newest = 0;                  // index (now / g) of the newest sub-window in `counts`
    uint64_t total = 0;                  // sum of `counts`
  };

  SlidingRing(uint64_t limit, Nanos window);

  // Admits one request if the counted sub-windows hold fewer than `limit`. Called under the
  // key's lock; a `now` before the newest sub-window counts in it (never admits more).
  Decision take(State& s, Nanos now) const;
  // Admissions still counted: what forgetting `s` would give back to its client.
  uint64_t evictionCost(const State& s, Nanos now) const;

  uint64_t limit() const { return limit_; }
  Nanos window() const { return window_; }
  Nanos subWindow() const { return g_; }

 private:
  // Moves `s` to sub-window `idx` (clamped to its newest), zeroing the sub-windows that left.
  void advance(State& s, int64_t idx) const;

  uint64_t limit_;
  Nanos window_;
  Nanos g_;
};

}  // namespace sluice::ratelimit
