#include "ratelimit/fixed_window.h"

#include <algorithm>

namespace sluice::ratelimit {

FixedWindow::FixedWindow(uint64_t limit, Nanos window)
    : limit_(limit), window_(std::max<Nanos>(1, window)) {}

Decision FixedWindow::take(State& s, Nanos now) const {
  Nanos start = now - now % window_;
  if (s.start != start) {
    s.start = start;
    s.count = 0;
  }
  Decision d;
  d.reset = start + window_ - now;
  if (s.count >= limit_) {
    d.allowed = false;
    d.retry_after = d.reset;
    return d;
  }
  ++s.count;
  d.remaining = limit_ - s.count;
  return d;
}

uint64_t FixedWindow::evictionCost(const State& s, Nanos now) const {
  return s.start >= 0 && now - s.start < window_ ? s.count : 0;  // requests counted this window
}

}  // namespace sluice::ratelimit
