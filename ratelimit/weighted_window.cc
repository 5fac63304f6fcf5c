#include "ratelimit/weighted_window.h"

#include <algorithm>

namespace sluice::ratelimit {

namespace {
using Wide = unsigned __int128;  // counts times nanoseconds overflow 64 bits

// Smallest x in [0, window] with prev * (window - x) + need * window <= limit * window, or -1.
Nanos firstFit(uint64_t prev, uint64_t need, uint64_t limit, Nanos window) {
  if (need > limit) return -1;
  Wide room = static_cast<Wide>(limit - need) * static_cast<Wide>(window);
  Wide full = static_cast<Wide>(prev) * static_cast<Wide>(window);
  if (full <= room) return 0;
  // prev * (window - x) <= room  <=>  x >= window - room / prev  (rounded up)
  Wide shrink = full - room;  // = prev * x needed
  Wide x = (shrink + prev - 1) / prev;
  return static_cast<Nanos>(x);
}
}  // namespace

WeightedWindow::WeightedWindow(uint64_t limit, Nanos window)
    : limit_(limit), window_(std::max<Nanos>(1, window)) {}

Decision WeightedWindow::take(State& s, Nanos now) const {
  Nanos start = now - now % window_;
  if (s.start != start) {
    s.previous = s.start == start - window_ ? s.current : 0;
    s.current = 0;
    s.start = start;
  }
  Nanos elapsed = now - start;
  Wide w = static_cast<Wide>(window_);
  Wide weighted_prev = static_cast<Wide>(s.previous) * static_cast<Wide>(window_ - elapsed);
  Decision d;
  d.reset = window_ - elapsed;
  // Allowed when previous * (window - elapsed) / window + current + 1 <= limit.
  if (weighted_prev + static_cast<Wide>(s.current + 1) * w > static_cast<Wide>(limit_) * w) {
    d.allowed = false;
    Nanos x = firstFit(s.previous, s.current + 1, limit_, window_);
    if (x >= 0 && x < window_) {
      d.retry_after = x - elapsed;
    } else {  // not in this window: in the next one, `current` becomes the previous count
      Nanos y = firstFit(s.current, 1, limit_, window_);
      d.retry_after = (window_ - elapsed) + (y < 0 ? window_ : y);
    }
    if (d.retry_after < 1) d.retry_after = 1;
    return d;
  }
  ++s.current;
  Wide used = weighted_prev + static_cast<Wide>(s.current) * w;
  Wide cap = static_cast<Wide>(limit_) * w;
  d.remaining = used >= cap ? 0 : static_cast<uint64_t>((cap - used) / w);
  return d;
}

uint64_t WeightedWindow::evictionCost(const State& s, Nanos now) const {
  if (s.start < 0) return 0;
  Nanos start = now - now % window_;
  Nanos left = window_ - (now - start);  // of the current window
  auto weighted = [&](uint64_t n) {
    return static_cast<uint64_t>(static_cast<Wide>(n) * static_cast<Wide>(left) /
                                 static_cast<Wide>(window_));
  };
  if (s.start == start) return s.current + weighted(s.previous);
  if (s.start == start - window_) return weighted(s.current);
  return 0;  // the estimate no longer counts anything of this key
}

}  // namespace sluice::ratelimit
