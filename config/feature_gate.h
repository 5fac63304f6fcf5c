// Features the schema describes but sluice does not serve yet: parsers report every use of an
// optional feature here, and the table in feature_gate.cc decides which uses are errors.
#pragma once

#include <yaml-cpp/yaml.h>

#include "config/node_reader.h"

namespace sluice::config {

enum class Feature {
  ListenerTls,
  ProxyProtocol,
  UpstreamTls,
  BalancerLeastConn,
  BalancerRandomTwo,
  BalancerConsistentHash,
  HashKey,
  BalanceFactor,
  SlowStart,
  ResolveEvery,
  HealthCheck,
  PassiveHealth,
  UpstreamCircuitBreaker,
  Retries,
  RateLimitStore,
  FilterTokenBucket,
  FilterSlidingWindow,
  FilterFixedWindow,
  FilterLeakyBucket,
  FilterCache,
  FilterGzip,
  FilterCircuitBreaker,
};

// Called once a use of `feature` at `at` has been parsed and validated. Records
// "<key>: <feature> is not supported yet; <what to do>" when the feature is not built yet.
void useFeature(Reader& r, const YAML::Node& at, Feature feature);

// Whether the running build serves `feature` (for tests and `sluice --version` style output).
bool isFeatureSupported(Feature feature);

}  // namespace sluice::config
