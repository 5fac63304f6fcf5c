// What the four rate-limit filters (token_bucket, sliding_window, fixed_window, leaky_bucket)
// share: the policy (limiter state kept in the StateStore across reloads, metrics, headers),
// the per-request filter that applies it locally or through the cluster store, and the 429.
// Each algorithm's file only turns its config into a RateLimitSpec.
//
// Policy name: the filter's type (`token_bucket`), or `token_bucket.N` (N = its position in the
// route's filters list) when the route has more than one filter of that type. It is the `policy`
// label of the metrics and the name in the RateLimit-Policy / RateLimit fields.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "filters/filter.h"
#include "filters/redis_store.h"
#include "filters/registry.h"
#include "ratelimit/limiter.h"

namespace sluice::filters {

// One algorithm's contribution, filled by its filter file.
struct RateLimitSpec {
  const char* type = "";  // YAML name
  std::string settings;   // canonical text of the algorithm's settings (state key)
  uint64_t quota = 0;     // RateLimit-Policy q=
  uint64_t window_s = 1;  // RateLimit-Policy w= (seconds)
  std::function<std::shared_ptr<ratelimit::Limiter>(uint64_t max_keys)> make_local;
  RedisScript script = RedisScript::TokenBucket;
  std::vector<std::string> script_args;
  bool delays = false;  // leaky bucket: allowed requests may be held back
};

std::shared_ptr<const FilterFactory> buildRateLimit(const FilterBuildContext& ctx,
                                                    const config::RateLimitCommon& common,
                                                    RateLimitSpec spec, std::string& error);

// The builders of the filter registry, one per algorithm file.
std::shared_ptr<const FilterFactory> buildTokenBucket(const FilterBuildContext& ctx,
                                                      const config::FilterEntry& entry,
                                                      std::string& error);
std::shared_ptr<const FilterFactory> buildSlidingWindow(const FilterBuildContext& ctx,
                                                        const config::FilterEntry& entry,
                                                        std::string& error);
std::shared_ptr<const FilterFactory> buildFixedWindow(const FilterBuildContext& ctx,
                                                      const config::FilterEntry& entry,
                                                      std::string& error);
std::shared_ptr<const FilterFactory> buildLeakyBucket(const FilterBuildContext& ctx,
                                                      const config::FilterEntry& entry,
                                                      std::string& error);

// Structured-field values of draft-ietf-httpapi-ratelimit-headers, exposed for tests.
std::string rateLimitPolicyField(std::string_view policy, uint64_t quota, uint64_t window_s);
std::string rateLimitField(std::string_view policy, uint64_t remaining, uint64_t reset_s);

}  // namespace sluice::filters
