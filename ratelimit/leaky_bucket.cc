#include "ratelimit/leaky_bucket.h"

#include <algorithm>
#include <cmath>

namespace sluice::ratelimit {

LeakyBucket::LeakyBucket(double count, Nanos per, uint64_t burst)
    : per_nano_(std::max(count, 1e-9) / static_cast<double>(std::max<Nanos>(1, per))),
      burst_(burst) {}

Decision LeakyBucket::take(State& s, Nanos now) const {
  Decision d;
  auto toNanos = [this](double requests) {
    return static_cast<Nanos>(std::ceil(requests / per_nano_ - 1e-6));
  };
  if (!s.seen) {  // nginx: a new node starts with excess 0 and passes at once
    s.seen = true;
    s.excess = 0;
    s.last = now;
    d.remaining = burst_;
    return d;
  }
  Nanos elapsed = std::max<Nanos>(0, now - s.last);
  double excess = s.excess - static_cast<double>(elapsed) * per_nano_ + 1;
  if (excess < 1e-9) excess = 0;
  if (excess > static_cast<double>(burst_) + 1e-9) {
    d.allowed = false;
    d.retry_after = std::max<Nanos>(1, toNanos(excess - static_cast<double>(burst_)));
    d.reset = toNanos(std::max(0.0, excess - 1));
    return d;
  }
  s.excess = excess;
  s.last = now;
  d.delay = excess > 0 ? toNanos(excess) : 0;
  d.reset = d.delay;
  double left = static_cast<double>(burst_) - excess;
  d.remaining = left > 0 ? static_cast<uint64_t>(std::floor(left + 1e-9)) : 0;
  return d;
}

uint64_t LeakyBucket::evictionCost(const State& s, Nanos now) const {
  if (!s.seen) return 0;
  double excess = s.excess - static_cast<double>(std::max<Nanos>(0, now - s.last)) * per_nano_;
  return excess > 0 ? static_cast<uint64_t>(excess * 1e6) : 0;  // queued requests, in millionths
}

}  // namespace sluice::ratelimit
