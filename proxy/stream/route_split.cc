#include "proxy/stream/route_split.h"

#include <random>

#include "balancer/hash.h"
#include "proxy/runtime/snapshot.h"

namespace sluice::proxy {

std::shared_ptr<const RouteSplit> RouteSplit::build(const config::Config& config,
                                                    const config::Route& route,
                                                    std::string& error) {
  std::vector<balancer::WeightedSplit::Side> sides;
  std::vector<int> upstreams;
  for (const config::WeightedUpstream& w : route.upstreams) {
    int index = -1;
    for (size_t i = 0; i < config.upstreams.size(); ++i) {
      if (config.upstreams[i].name == w.name) index = static_cast<int>(i);
    }
    if (index < 0) {
      error = "route " + route.name + ": unknown upstream " + w.name;
      return nullptr;
    }
    sides.push_back(balancer::WeightedSplit::Side{w.name, w.weight});
    upstreams.push_back(index);
  }
  std::shared_ptr<RouteSplit> out(
      new RouteSplit(balancer::WeightedSplit(std::move(sides)), std::move(upstreams)));
  if (route.sticky_key) {
    out->sticky_.emplace();
    if (!out->sticky_->init(*route.sticky_key, config.trusted_proxies, error)) {
      error = "route " + route.name + ": sticky key: " + error;
      return nullptr;
    }
  }
  return out;
}

int RouteSplit::choose(const base::RequestHead& head, const filters::StreamInfo& info,
                       uint64_t random64) const {
  if (sticky_) {
    std::string key;
    sticky_->evaluate(head, info, key);
    // A request without a value for the key (no cookie yet) is not pinned: it goes by weight.
    if (!key.empty()) return upstreams_[split_.pickSticky(balancer::hashKey(key))];
  }
  return upstreams_[split_.pickRandom(random64)];
}

int chooseUpstream(const RouteRuntime& route, const base::RequestHead& head,
                   const filters::StreamInfo& info) {
  if (!route.split) return route.upstream;
  // One generator per worker thread, seeded once: the split's draws need no lock.
  thread_local balancer::SplitMix64 random{(static_cast<uint64_t>(std::random_device{}()) << 32) ^
                                           std::random_device{}()};
  return route.split->choose(head, info, random.next());
}

}  // namespace sluice::proxy
