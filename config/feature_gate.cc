// The one list of features that are parsed and validated but not served yet. When a feature
// lands, delete its line below; the parsers already report every use of it.
#include "config/feature_gate.h"

namespace sluice::config {
namespace {

struct Unsupported {
  Feature feature;
  const char* message;  // "<key>: <what> is not supported yet; <what to write instead>"
};

constexpr Unsupported kUnsupported[] = {
    {Feature::ListenerTls,
     "tls: TLS termination is not supported yet; remove the tls section for now"},
    {Feature::ProxyProtocol,
     "proxy_protocol: the PROXY protocol is not supported yet; set proxy_protocol: false"},
    {Feature::UpstreamTls,
     "tls: TLS to upstreams is not supported yet; remove the tls section for now"},
    {Feature::BalancerLeastConn,
     "balancer: least_conn is not supported yet; use balancer: round_robin"},
    {Feature::BalancerRandomTwo,
     "balancer: random_two is not supported yet; use balancer: round_robin"},
    {Feature::BalancerConsistentHash,
     "balancer: consistent_hash is not supported yet; use balancer: round_robin"},
    {Feature::HashKey,
     "hash_key: consistent hashing is not supported yet; remove hash_key for now"},
    {Feature::BalanceFactor,
     "balance_factor: consistent hashing is not supported yet; remove balance_factor for now"},
    {Feature::SlowStart, "slow_start: slow start is not supported yet; remove it for now"},
    {Feature::ResolveEvery,
     "resolve_every: periodic re-resolution is not supported yet; remove it for now (names are "
     "resolved at load)"},
    {Feature::HealthCheck,
     "health_check: active health checks are not supported yet; remove the section for now"},
    {Feature::PassiveHealth,
     "passive_health: passive health checks are not supported yet; remove the section for now"},
    {Feature::UpstreamCircuitBreaker,
     "circuit_breaker: circuit breaking is not supported yet; remove the section for now"},
    {Feature::Retries, "retries: retries are not supported yet; set attempts: 0 for now"},
    {Feature::RateLimitStore,
     "rate_limit_store: cluster rate limiting is not supported yet; remove the section for now"},
    {Feature::FilterTokenBucket,
     "token_bucket: the token_bucket filter is not supported yet; remove it for now"},
    {Feature::FilterSlidingWindow,
     "sliding_window: the sliding_window filter is not supported yet; remove it for now"},
    {Feature::FilterFixedWindow,
     "fixed_window: the fixed_window filter is not supported yet; remove it for now"},
    {Feature::FilterLeakyBucket,
     "leaky_bucket: the leaky_bucket filter is not supported yet; remove it for now"},
    {Feature::FilterCircuitBreaker,
     "circuit_breaker: the circuit_breaker filter is not supported yet; remove it for now"},
};

const Unsupported* findUnsupported(Feature feature) {
  for (const auto& u : kUnsupported) {
    if (u.feature == feature) return &u;
  }
  return nullptr;
}

}  // namespace

void useFeature(Reader& r, const YAML::Node& at, Feature feature) {
  if (const Unsupported* u = findUnsupported(feature)) r.error(at, u->message);
}

bool isFeatureSupported(Feature feature) {
  return findUnsupported(feature) == nullptr;
}

}  // namespace sluice::config
