// The explicit table of filters (STYLE.md §5): YAML name -> factory builder. Adding a filter is
// one file plus one line in registry.cc.
#pragma once

#include <memory>
#include <string>

#include "balancer/target_state.h"
#include "config/config.h"
#include "filters/base/metrics_registry.h"
#include "filters/base/state_store.h"
#include "filters/chain.h"

namespace sluice::filters {

// What a filter builder may use. Builders run on the main thread, once per config snapshot.
struct FilterBuildContext {
  const config::Config& config;
  const config::Route& route;
  size_t index;  // position of the filter in the route's `filters:` list
  base::MetricsRegistry&
      metrics;              // declare-or-get families by name (same name and type = same family)
  base::StateStore& state;  // state that survives reloads, keyed by policy and settings
  // The route's upstream's shared state and its targets' (null/empty for `respond:` routes).
  std::shared_ptr<balancer::UpstreamState> upstream;
  std::vector<std::shared_ptr<balancer::TargetState>> targets;
};

// Builds the factories of one route, in the order they run: header rewriting, the route's
// `filters:` in config order, then `respond:` or `redirect:`. Returns false with `error` set
// when a filter named in the config has no builder (config validation should have refused it
// already).
bool buildRouteChain(const config::Config& config, const config::Route& route,
                     base::MetricsRegistry& metrics, base::StateStore& state, FactoryList& out,
                     std::string& error,
                     std::shared_ptr<balancer::UpstreamState> upstream = nullptr,
                     std::vector<std::shared_ptr<balancer::TargetState>> targets = {});

// Whether `name` is a filter this binary can build.
bool isRegisteredFilter(std::string_view name);

}  // namespace sluice::filters
