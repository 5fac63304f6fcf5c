// The exact sliding window for small limits: a log of the admission times still inside the
// window, at most `limit` of them. A request passes when fewer than `limit` admissions lie in
// the trailing window (now - window, now], so no trailing window of any phase ever holds more
// than `limit`, and none is refused that an exact count would admit.
//
// Memory per key: 8 bytes per logged admission (at most `limit`, kSlidingLogMaxLimit = 128, so
// at most 1 KiB), grown on demand, plus a 24-byte vector header.
#pragma once

#include <cstdint>
#include <vector>

#include "ratelimit/decision.h"

namespace sluice::ratelimit {

// Limits up to this use the log; larger ones the sub-window ring (sliding_ring.h). Also Redis's
// default zset-max-listpack-entries, so the cluster log stays in its compact encoding.
inline constexpr uint64_t kSlidingLogMaxLimit = 128;

class SlidingLog {
 public:
  struct State {
    std::vector<Nanos> times;  // admissions still in the window, oldest first
  };

  SlidingLog(uint64_t limit, Nanos window);

  // Admits one request if fewer than `limit` admissions lie in (now - window, now]. Called under
  // the key's lock; `now` may be slightly older than the newest admission (another worker took
  // its time first): it is then taken as that admission's time, which never admits more.
  Decision take(State& s, Nanos now) const;
  // Admissions still in the window: what forgetting `s` would give back to its client.
  uint64_t evictionCost(const State& s, Nanos now) const;

  uint64_t limit() const { return limit_; }
  Nanos window() const { return window_; }

 private:
  uint64_t limit_;
  Nanos window_;
};

}  // namespace sluice::ratelimit
