#include "ratelimit/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace sluice::ratelimit {

TokenBucket::TokenBucket(double count, Nanos per, uint64_t burst)
    : interval_(std::max<Nanos>(1, std::llround(static_cast<double>(per) / std::max(count, 1e-9)))),
      burst_(std::max<uint64_t>(1, burst)),
      tolerance_(static_cast<Nanos>(burst_) * interval_) {}

Decision TokenBucket::take(State& s, Nanos now) const {
  Decision d;
  Nanos base = std::max(s.tat, now);
  Nanos next = base + interval_;
  if (next - now > tolerance_) {
    d.allowed = false;
    d.remaining = 0;
    d.retry_after = next - now - tolerance_;
    d.reset = base - now;
    return d;
  }
  s.tat = next;
  d.remaining = static_cast<uint64_t>((tolerance_ - (next - now)) / interval_);
  d.reset = next - now;
  return d;
}

uint64_t TokenBucket::evictionCost(const State& s, Nanos now) const {
  return s.tat > now ? static_cast<uint64_t>(s.tat - now) : 0;  // the debt, in nanoseconds
}

}  // namespace sluice::ratelimit
