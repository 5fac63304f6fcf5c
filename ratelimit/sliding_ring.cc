#include "ratelimit/sliding_ring.h"

#include <algorithm>
#include <limits>

namespace sluice::ratelimit {

namespace {
constexpr int64_t kSlots = kSlidingRingBuckets + 1;

size_t slot(int64_t idx) {
  return static_cast<size_t>(((idx % kSlots) + kSlots) % kSlots);
}
}  // namespace

SlidingRing::SlidingRing(uint64_t limit, Nanos window)
    : limit_(std::max<uint64_t>(1, limit)),
      window_(std::max<Nanos>(1, window)),
      g_((window_ + kSlidingRingBuckets - 1) / kSlidingRingBuckets) {}

void SlidingRing::advance(State& s, int64_t idx) const {
  if (idx <= s.newest) return;
  if (idx - s.newest >= kSlots) {
    std::fill_n(s.counts.get(), kSlots, 0u);
    s.total = 0;
  } else {
    for (int64_t i = s.newest + 1; i <= idx; ++i) {
      uint32_t& c = s.counts[slot(i)];  // held sub-window i - kSlots, which has left
      s.total -= c;
      c = 0;
    }
  }
  s.newest = idx;
}

Decision SlidingRing::take(State& s, Nanos now) const {
  int64_t idx = now / g_;
  if (!s.counts) {
    s.counts = std::make_unique<uint32_t[]>(kSlots);  // zeroed
    s.newest = idx;
    s.total = 0;
  }
  advance(s, idx);
  idx = s.newest;
  Nanos at = std::max(now, idx * g_);  // a late `now` counts as the sub-window's start
  uint32_t& mine = s.counts[slot(idx)];
  Decision d;
  if (s.total >= limit_ || mine == std::numeric_limits<uint32_t>::max()) {
    d.allowed = false;
    // At sub-window idx + j the j oldest counted sub-windows have left.
    uint64_t left = s.total;
    int64_t j = 1;
    for (; j <= kSlidingRingBuckets; ++j) {
      left -= s.counts[slot(idx - kSlidingRingBuckets + j - 1)];
      if (left + 1 <= limit_) break;
    }
    d.retry_after = std::max<Nanos>(1, (idx + j) * g_ - at);
    d.reset = (idx + kSlots) * g_ - at;
    return d;
  }
  ++mine;
  ++s.total;
  d.remaining = limit_ - s.total;
  d.reset = (idx + kSlots) * g_ - at;  // when this sub-window is no longer counted
  return d;
}

uint64_t SlidingRing::evictionCost(const State& s, Nanos now) const {
  if (!s.counts) return 0;
  int64_t idx = now / g_;
  if (idx <= s.newest) return s.total;
  if (idx - s.newest >= kSlots) return 0;
  uint64_t total = s.total;
  for (int64_t i = s.newest + 1; i <= idx; ++i) total -= s.counts[slot(i)];
  return total;
}

}  // namespace sluice::ratelimit
