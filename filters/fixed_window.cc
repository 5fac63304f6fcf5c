// The fixed_window filter: at most `limit` requests per `window`, counted afresh at each window
// boundary. RateLimit-Policy: q = limit, w = window.
#include "ratelimit/fixed_window.h"

#include <algorithm>

#include "filters/rate_limit.h"

namespace sluice::filters {

std::shared_ptr<const FilterFactory> buildFixedWindow(const FilterBuildContext& ctx,
                                                      const config::FilterEntry& entry,
                                                      std::string& error) {
  const auto& c = std::get<config::FixedWindowFilter>(entry.spec);
  ratelimit::Nanos window = static_cast<ratelimit::Nanos>(c.window.count()) * 1'000'000;
  ratelimit::FixedWindow algo(c.limit, window);
  RateLimitSpec spec;
  spec.type = "fixed_window";
  spec.settings = std::to_string(c.limit) + "/" + std::to_string(c.window.count());
  spec.quota = c.limit;
  spec.window_s = std::max<uint64_t>(1, static_cast<uint64_t>((c.window.count() + 999) / 1000));
  spec.make_local = [algo](uint64_t max_keys) { return ratelimit::makeLimiter(algo, max_keys); };
  spec.script = RedisScript::FixedWindow;
  spec.script_args = {std::to_string(std::max<int64_t>(1, c.window.count())),
                      std::to_string(c.limit)};
  return buildRateLimit(ctx, c.common, std::move(spec), error);
}

}  // namespace sluice::filters
