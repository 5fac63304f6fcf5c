#include "ratelimit/sliding_window.h"

#include "ratelimit/sliding_log.h"
#include "ratelimit/sliding_ring.h"
#include "ratelimit/weighted_window.h"

namespace sluice::ratelimit {

SlidingAlgo slidingAlgoFor(uint64_t limit, bool approximate) {
  if (approximate) return SlidingAlgo::Weighted;
  return limit <= kSlidingLogMaxLimit ? SlidingAlgo::Log : SlidingAlgo::Ring;
}

std::shared_ptr<Limiter> makeSlidingWindow(uint64_t limit, Nanos window, bool approximate,
                                           uint64_t max_keys) {
  switch (slidingAlgoFor(limit, approximate)) {
    case SlidingAlgo::Log:
      return makeLimiter(SlidingLog(limit, window), max_keys);
    case SlidingAlgo::Ring:
      return makeLimiter(SlidingRing(limit, window), max_keys);
    case SlidingAlgo::Weighted:
      break;
  }
  return makeLimiter(WeightedWindow(limit, window), max_keys);
}

}  // namespace sluice::ratelimit
