// The explicit table of balancing algorithms (STYLE.md §5): `balancer:` name -> constructor.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "balancer/balancer.h"

namespace sluice::balancer {

// A new balancer of algorithm `name` over `targets` (the upstream's whole list, effective
// weights; see effective_weights.h), or null for an unknown name. Called by a worker on its own
// thread; the result is used by that worker only.
std::unique_ptr<Balancer> makeBalancer(std::string_view name,
                                       const std::vector<TargetWeight>& targets,
                                       const BalancerOptions& options = {});

bool isRegisteredBalancer(std::string_view name);

}  // namespace sluice::balancer
