#include "ratelimit/sliding_log.h"

#include <algorithm>

namespace sluice::ratelimit {

SlidingLog::SlidingLog(uint64_t limit, Nanos window)
    : limit_(std::max<uint64_t>(1, limit)), window_(std::max<Nanos>(1, window)) {}

Decision SlidingLog::take(State& s, Nanos now) const {
  std::vector<Nanos>& t = s.times;
  if (!t.empty() && now < t.back()) now = t.back();
  // An admission at `a` counts while now < a + window.
  auto live = std::upper_bound(t.begin(), t.end(), now - window_);
  t.erase(t.begin(), live);
  Decision d;
  if (t.size() >= limit_) {
    d.allowed = false;
    d.retry_after = std::max<Nanos>(1, t.front() + window_ - now);  // the oldest leaves
    d.reset = t.back() + window_ - now;
    return d;
  }
  if (t.size() == t.capacity()) {
    t.reserve(std::min<size_t>(limit_, std::max<size_t>(4, 2 * t.capacity())));
  }
  t.push_back(now);
  d.remaining = limit_ - t.size();
  d.reset = window_;  // until this admission leaves, the quota is not whole again
  return d;
}

uint64_t SlidingLog::evictionCost(const State& s, Nanos now) const {
  const std::vector<Nanos>& t = s.times;
  return static_cast<uint64_t>(t.end() - std::upper_bound(t.begin(), t.end(), now - window_));
}

}  // namespace sluice::ratelimit
