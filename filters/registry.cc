#include "filters/registry.h"

#include "filters/api_key.h"
#include "filters/basic_auth.h"
#include "filters/cache.h"
#include "filters/circuit_breaker.h"
#include "filters/cors.h"
#include "filters/direct_response.h"
#include "filters/ext_auth.h"
#include "filters/gzip.h"
#include "filters/header_rewrite.h"
#include "filters/ip_filter.h"
#include "filters/jwt.h"
#include "filters/max_body.h"
#include "filters/rate_limit.h"
#include "filters/redirect.h"

namespace sluice::filters {

namespace {
std::shared_ptr<const FilterFactory> buildCache(const FilterBuildContext& ctx,
                                                const config::FilterEntry& entry, std::string&) {
  return buildCacheFactory(ctx, std::get<config::CacheFilter>(entry.spec));
}

std::shared_ptr<const FilterFactory> buildGzip(const FilterBuildContext& ctx,
                                               const config::FilterEntry& entry, std::string&) {
  return std::make_shared<GzipFactory>(std::get<config::GzipFilter>(entry.spec),
                                       compressionCounters(ctx.metrics));
}

std::shared_ptr<const FilterFactory> buildMaxBody(const FilterBuildContext&,
                                                  const config::FilterEntry& entry, std::string&) {
  return std::make_shared<MaxBodyFactory>(std::get<config::MaxBodyFilter>(entry.spec));
}

std::shared_ptr<const FilterFactory> buildIpFilter(const FilterBuildContext& ctx,
                                                   const config::FilterEntry& entry, std::string&) {
  return std::make_shared<IpFilterFactory>(
      std::get<config::IpFilter>(entry.spec), ctx.config.trusted_proxies,
      AuthCounters::make(ctx.metrics, ctx.route.name, "ip_filter"));
}

std::shared_ptr<const FilterFactory> buildCors(const FilterBuildContext&,
                                               const config::FilterEntry& entry, std::string&) {
  return std::make_shared<CorsFactory>(std::get<config::CorsFilter>(entry.spec));
}

std::shared_ptr<const FilterFactory> buildBasicAuth(const FilterBuildContext& ctx,
                                                    const config::FilterEntry& entry,
                                                    std::string&) {
  return std::make_shared<BasicAuthFactory>(
      std::get<config::BasicAuthFilter>(entry.spec),
      AuthCounters::make(ctx.metrics, ctx.route.name, "basic_auth"), PasswordVerifier::shared());
}

std::shared_ptr<const FilterFactory> buildApiKey(const FilterBuildContext& ctx,
                                                 const config::FilterEntry& entry, std::string&) {
  return std::make_shared<ApiKeyFactory>(
      std::get<config::ApiKeyFilter>(entry.spec),
      AuthCounters::make(ctx.metrics, ctx.route.name, "api_key"));
}

std::shared_ptr<const FilterFactory> buildJwt(const FilterBuildContext& ctx,
                                              const config::FilterEntry& entry,
                                              std::string& error) {
  return JwtFactory::make(std::get<config::JwtFilter>(entry.spec),
                          AuthCounters::make(ctx.metrics, ctx.route.name, "jwt"), &error);
}

std::shared_ptr<const FilterFactory> buildExtAuth(const FilterBuildContext& ctx,
                                                  const config::FilterEntry& entry, std::string&) {
  return std::make_shared<ExtAuthFactory>(
      std::get<config::ExtAuthFilter>(entry.spec),
      AuthCounters::make(ctx.metrics, ctx.route.name, "ext_auth"));
}

// Returns null with `error` set when the filter cannot be built (e.g. a file it needs).
using Builder = std::shared_ptr<const FilterFactory> (*)(const FilterBuildContext&,
                                                         const config::FilterEntry&,
                                                         std::string& error);
struct Entry {
  const char* name;
  Builder build;
};

// One line per filter. The rate limits, cache, gzip and circuit breaker land with their issues.
constexpr Entry kFilters[] = {
    {"token_bucket", buildTokenBucket},
    {"sliding_window", buildSlidingWindow},
    {"fixed_window", buildFixedWindow},
    {"leaky_bucket", buildLeakyBucket},
    {"cache", buildCache},
    {"gzip", buildGzip},
    {"circuit_breaker", buildCircuitBreaker},
    {"max_body", buildMaxBody},
    {"ip_filter", buildIpFilter},
    {"cors", buildCors},
    {"basic_auth", buildBasicAuth},
    {"api_key", buildApiKey},
    {"jwt", buildJwt},
    {"ext_auth", buildExtAuth},
};

const Entry* find(std::string_view name) {
  for (const Entry& e : kFilters) {
    if (e.build != nullptr && name == e.name) return &e;
  }
  return nullptr;
}
}  // namespace

bool isRegisteredFilter(std::string_view name) {
  return find(name) != nullptr;
}

bool buildRouteChain(const config::Config& config, const config::Route& route,
                     base::MetricsRegistry& metrics, base::StateStore& state, FactoryList& out,
                     std::string& error, std::shared_ptr<balancer::UpstreamState> upstream,
                     std::vector<std::shared_ptr<balancer::TargetState>> targets) {
  out.clear();
  // The response side first (its rewrite is the last response phase); the request side is
  // added after the route's filters, below, so that its variables see the consumer and claims.
  if (!route.response_headers.empty()) {
    out.push_back(std::make_shared<HeaderRewriteFactory>(
        config::HeaderRewrite{}, route.response_headers, config.trusted_proxies));
  }
  for (size_t i = 0; i < route.filters.size(); ++i) {
    const config::FilterEntry& entry = route.filters[i];
    const Entry* e = find(entry.name);
    if (e == nullptr) {
      error = "route " + route.name + ": filter " + entry.name + " is not built into this binary";
      return false;
    }
    FilterBuildContext ctx{config, route, i, metrics, state, upstream, targets};
    auto factory = e->build(ctx, entry, error);
    if (!factory) {
      error = "route " + route.name + ": filter " + entry.name + ": " + error;
      return false;
    }
    out.push_back(std::move(factory));
  }
  if (!route.request_headers.empty()) {
    out.push_back(std::make_shared<HeaderRewriteFactory>(
        route.request_headers, config::HeaderRewrite{}, config.trusted_proxies));
  }
  if (route.respond) out.push_back(std::make_shared<DirectResponseFactory>(*route.respond));
  if (route.redirect) {
    out.push_back(std::make_shared<RedirectFactory>(*route.redirect, config.trusted_proxies));
  }
  return true;
}

}  // namespace sluice::filters
