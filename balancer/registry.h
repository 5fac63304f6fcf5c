// The explicit table of balancing algorithms (STYLE.md §5): `balancer:` name -> constructor.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "balancer/balancer.h"

namespace sluice::balancer {

// A new balancer of algorithm `name` over `targets`, or null for an unknown name.
std::unique_ptr<Balancer> makeBalancer(std::string_view name,
                                       const std::vector<TargetWeight>& targets);

bool isRegisteredBalancer(std::string_view name);

}  // namespace sluice::balancer
