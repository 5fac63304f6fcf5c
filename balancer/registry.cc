#include "balancer/registry.h"

#include "balancer/consistent_hash.h"
#include "balancer/least_conn.h"
#include "balancer/random_two.h"
#include "balancer/round_robin.h"

namespace sluice::balancer {

namespace {
using Targets = std::vector<TargetWeight>;
using Maker = std::unique_ptr<Balancer> (*)(const Targets&, const BalancerOptions&);
struct Entry {
  const char* name;
  Maker make;
};

constexpr Entry kBalancers[] = {
    {"round_robin",
     [](const Targets& t, const BalancerOptions&) -> std::unique_ptr<Balancer> {
       return std::make_unique<RoundRobin>(t);
     }},
    {"least_conn",
     [](const Targets& t, const BalancerOptions&) -> std::unique_ptr<Balancer> {
       return std::make_unique<LeastConn>(t);
     }},
    {"random_two",
     [](const Targets& t, const BalancerOptions& o) -> std::unique_ptr<Balancer> {
       return std::make_unique<RandomTwo>(t, o.seed);
     }},
    {"consistent_hash",
     [](const Targets& t, const BalancerOptions& o) -> std::unique_ptr<Balancer> {
       return std::make_unique<ConsistentHash>(t, o.balance_factor);
     }},
};
}  // namespace

std::unique_ptr<Balancer> makeBalancer(std::string_view name, const Targets& targets,
                                       const BalancerOptions& options) {
  for (const Entry& e : kBalancers) {
    if (name == e.name) return e.make(targets, options);
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
