// `circuit_breaker: {}` on a route: fails fast with 503 while every target of the route's
// upstream has its breaker open, before the route's later filters run (rate limits, cache) and
// without picking a target. The breakers themselves (settings under the upstream's
// `circuit_breaker:`) are consulted per try when the exchange picks a target.
#pragma once

#include <memory>
#include <string>

#include "filters/filter.h"
#include "filters/registry.h"

namespace sluice::filters {

std::shared_ptr<const FilterFactory> buildCircuitBreaker(const FilterBuildContext& ctx,
                                                         const config::FilterEntry& entry,
                                                         std::string& error);

}  // namespace sluice::filters
