// The sliding_window filter: at most `limit` requests in any trailing `window`. Exact by default
// (a log of admission times up to 128, a ring of sub-window counts above, in the process and in
// Redis alike; bounds in ratelimit/sliding_log.h and sliding_ring.h); `precision: approximate`
// runs the weighted two-window counter (ratelimit/weighted_window.h), which may over-admit.
// RateLimit-Policy: q = limit, w = window.
#include "ratelimit/sliding_window.h"

#include <algorithm>

#include "filters/rate_limit.h"
#include "ratelimit/sliding_ring.h"

namespace sluice::filters {

std::shared_ptr<const FilterFactory> buildSlidingWindow(const FilterBuildContext& ctx,
                                                        const config::FilterEntry& entry,
                                                        std::string& error) {
  const auto& c = std::get<config::SlidingWindowFilter>(entry.spec);
  int64_t window_ms = std::max<int64_t>(1, c.window.count());
  ratelimit::Nanos window = static_cast<ratelimit::Nanos>(window_ms) * 1'000'000;
  RateLimitSpec spec;
  spec.type = "sliding_window";
  spec.settings = std::to_string(c.limit) + "/" + std::to_string(c.window.count()) +
                  (c.approximate ? "/approximate" : "/exact");
  spec.quota = c.limit;
  spec.window_s = std::max<uint64_t>(1, static_cast<uint64_t>((c.window.count() + 999) / 1000));
  uint64_t limit = c.limit;
  bool approximate = c.approximate;
  spec.make_local = [limit, window, approximate](uint64_t max_keys) {
    return ratelimit::makeSlidingWindow(limit, window, approximate, max_keys);
  };
  std::string window_us = std::to_string(window_ms * 1000);
  switch (ratelimit::slidingAlgoFor(c.limit, c.approximate)) {
    case ratelimit::SlidingAlgo::Log:
      spec.script = RedisScript::SlidingLog;
      spec.script_args = {window_us, std::to_string(c.limit)};
      break;
    case ratelimit::SlidingAlgo::Ring:
      spec.script = RedisScript::SlidingRing;
      spec.script_args = {window_us, std::to_string(c.limit),
                          std::to_string(ratelimit::kSlidingRingBuckets)};
      break;
    case ratelimit::SlidingAlgo::Weighted:
      spec.script = RedisScript::WeightedWindow;
      spec.script_args = {std::to_string(window_ms), std::to_string(c.limit)};
      break;
  }
  return buildRateLimit(ctx, c.common, std::move(spec), error);
}

}  // namespace sluice::filters
