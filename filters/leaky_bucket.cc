// The leaky_bucket filter (nginx limit_req): requests leave at `rate`; up to `burst` requests
// are held back (never blocking the loop: the proxy's continueRequestAfter timer resumes them)
// and any beyond are answered 429. RateLimit-Policy: q = burst + 1, w = the time to drain them.
#include "ratelimit/leaky_bucket.h"

#include <cmath>
#include <cstdio>

#include "filters/rate_limit.h"

namespace sluice::filters {

std::shared_ptr<const FilterFactory> buildLeakyBucket(const FilterBuildContext& ctx,
                                                      const config::FilterEntry& entry,
                                                      std::string& error) {
  const auto& c = std::get<config::LeakyBucketFilter>(entry.spec);
  ratelimit::Nanos per = static_cast<ratelimit::Nanos>(c.rate.per.count()) * 1'000'000;
  ratelimit::LeakyBucket algo(c.rate.count, per, c.burst);
  RateLimitSpec spec;
  spec.type = "leaky_bucket";
  char settings[96];
  std::snprintf(settings, sizeof settings, "%.17g/%lld/%llu", c.rate.count,
                static_cast<long long>(per), static_cast<unsigned long long>(c.burst));
  spec.settings = settings;
  spec.quota = c.burst + 1;
  spec.window_s = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(static_cast<double>(c.burst + 1) / c.rate.perSecond())));
  spec.make_local = [algo](uint64_t max_keys) { return ratelimit::makeLimiter(algo, max_keys); };
  spec.script = RedisScript::LeakyBucket;
  char per_us[48];
  std::snprintf(per_us, sizeof per_us, "%.17g", algo.perNano() * 1000.0);
  spec.script_args = {per_us, std::to_string(c.burst)};
  spec.delays = true;
  return buildRateLimit(ctx, c.common, std::move(spec), error);
}

}  // namespace sluice::filters
