#include "balancer/registry.h"

#include "balancer/round_robin.h"

namespace sluice::balancer {

namespace {
using Maker = std::unique_ptr<Balancer> (*)(const std::vector<TargetWeight>&);
struct Entry {
  const char* name;
  Maker make;
};

constexpr Entry kBalancers[] = {
    {"round_robin",
     [](const std::vector<TargetWeight>& t) -> std::unique_ptr<Balancer> {
       return std::make_unique<RoundRobin>(t);
     }},
};
}  // namespace

std::unique_ptr<Balancer> makeBalancer(std::string_view name,
                                       const std::vector<TargetWeight>& targets) {
  for (const Entry& e : kBalancers) {
    if (name == e.name) return e.make(targets);
  }
  return nullptr;
}

bool isRegisteredBalancer(std::string_view name) {
  for (const Entry& e : kBalancers) {
    if (name == e.name) return true;
  }
  return false;
}

}  // namespace sluice::balancer
