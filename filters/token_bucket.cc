// The token_bucket filter: `rate` tokens per second refill a bucket of `burst`; a request takes
// one or is answered 429. RateLimit-Policy: q = burst, w = the time to refill the whole burst.
#include "ratelimit/token_bucket.h"

#include <cmath>
#include <cstdio>

#include "filters/rate_limit.h"

namespace sluice::filters {

std::shared_ptr<const FilterFactory> buildTokenBucket(const FilterBuildContext& ctx,
                                                      const config::FilterEntry& entry,
                                                      std::string& error) {
  const auto& c = std::get<config::TokenBucketFilter>(entry.spec);
  ratelimit::Nanos per = static_cast<ratelimit::Nanos>(c.rate.per.count()) * 1'000'000;
  uint64_t burst = c.burst == 0 ? 1 : c.burst;
  ratelimit::TokenBucket algo(c.rate.count, per, burst);
  RateLimitSpec spec;
  spec.type = "token_bucket";
  char settings[96];
  std::snprintf(settings, sizeof settings, "%.17g/%lld/%llu", c.rate.count,
                static_cast<long long>(per), static_cast<unsigned long long>(burst));
  spec.settings = settings;
  spec.quota = burst;
  spec.window_s = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(static_cast<double>(burst) / c.rate.perSecond())));
  spec.make_local = [algo](uint64_t max_keys) { return ratelimit::makeLimiter(algo, max_keys); };
  spec.script = RedisScript::TokenBucket;
  char interval_us[32];
  std::snprintf(interval_us, sizeof interval_us, "%.6f",
                static_cast<double>(algo.interval()) / 1000.0);
  spec.script_args = {interval_us, std::to_string(burst)};
  return buildRateLimit(ctx, c.common, std::move(spec), error);
}

}  // namespace sluice::filters
