#include "proxy/snapshot.h"

#include "filters/registry.h"

#include <ctime>

namespace sluice::proxy {

SnapshotPtr buildSnapshot(config::ConfigPtr config, const std::vector<ResolvedTarget>& resolved,
                          uint64_t version, filters::Registry& metrics,
                          filters::StateStore& state, std::string& error) {
  auto snap = std::make_shared<Snapshot>(std::move(config));
  const config::Config& c = *snap->config;
  snap->version = version;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  snap->loaded_at = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  for (const config::Upstream& u : c.upstreams) {
    UpstreamRuntime rt;
    rt.config = &u;
    for (const config::Target& t : u.targets) {
      const ResolvedTarget* found = nullptr;
      for (const ResolvedTarget& r : resolved) {
        if (r.address == t.address) found = &r;
      }
      if (found == nullptr) {
        error = "upstream " + u.name + ": target " + t.address + " has no resolved address";
        return nullptr;
      }
      ResolvedTarget target = *found;
      target.weight = t.weight;
      rt.targets.push_back(target);
    }
    snap->upstreams.push_back(std::move(rt));
  }
  for (const config::Route& r : c.routes) {
    RouteRuntime rt;
    rt.config = &r;
    if (!r.respond) {
      for (size_t i = 0; i < c.upstreams.size(); ++i) {
        if (c.upstreams[i].name == r.upstream) rt.upstream = static_cast<int>(i);
      }
      if (rt.upstream < 0) {
        error = "route " + r.name + ": unknown upstream " + r.upstream;
        return nullptr;
      }
    }
    if (!filters::buildRouteChain(c, r, metrics, state, rt.filters, error)) return nullptr;
    for (const auto& f : rt.filters) rt.body_filters = rt.body_filters || f->needsResponseBody();
    snap->routes.push_back(std::move(rt));
  }
  return snap;
}

}  // namespace sluice::proxy
