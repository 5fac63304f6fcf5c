// Small helpers declared with the config structs (config.h).
#include "config/config.h"

#include <type_traits>

namespace sluice::config {

const char* filterName(const FilterSpec& spec) {
  return std::visit(
      [](const auto& f) -> const char* {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, TokenBucketFilter>) {
          return "token_bucket";
        } else if constexpr (std::is_same_v<T, SlidingWindowFilter>) {
          return "sliding_window";
        } else if constexpr (std::is_same_v<T, FixedWindowFilter>) {
          return "fixed_window";
        } else if constexpr (std::is_same_v<T, LeakyBucketFilter>) {
          return "leaky_bucket";
        } else if constexpr (std::is_same_v<T, CacheFilter>) {
          return "cache";
        } else if constexpr (std::is_same_v<T, GzipFilter>) {
          return "gzip";
        } else if constexpr (std::is_same_v<T, MaxBodyFilter>) {
          return "max_body";
        } else if constexpr (std::is_same_v<T, IpFilter>) {
          return "ip_filter";
        } else if constexpr (std::is_same_v<T, CorsFilter>) {
          return "cors";
        } else if constexpr (std::is_same_v<T, BasicAuthFilter>) {
          return "basic_auth";
        } else if constexpr (std::is_same_v<T, ApiKeyFilter>) {
          return "api_key";
        } else if constexpr (std::is_same_v<T, JwtFilter>) {
          return "jwt";
        } else if constexpr (std::is_same_v<T, ExtAuthFilter>) {
          return "ext_auth";
        } else {
          static_assert(std::is_same_v<T, CircuitBreakerFilter>, "name every filter");
          return "circuit_breaker";
        }
      },
      spec);
}

const Upstream* Config::findUpstream(std::string_view name) const {
  for (const auto& u : upstreams) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

}  // namespace sluice::config
