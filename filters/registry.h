// The explicit table of filters (STYLE.md §5): YAML name -> factory builder. Adding a filter is
// one file plus one line in registry.cc.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "filters/chain.h"

namespace sluice::filters {

// Builds the factories of one route, in the order they run: header rewriting, the route's
// `filters:` in config order, then `respond:`. Returns false with `error` set when a filter
// named in the config has no builder (config validation should have refused it already).
bool buildRouteChain(const config::Route& route, FactoryList& out, std::string& error);

// Whether `name` is a filter this binary can build.
bool isRegisteredFilter(std::string_view name);

}  // namespace sluice::filters
