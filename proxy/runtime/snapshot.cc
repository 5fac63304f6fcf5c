#include "proxy/runtime/snapshot.h"

#include <ctime>

#include "balancer/hash.h"
#include "filters/registry.h"
#include "proxy/runtime/status_windows.h"
#include "proxy/stream/route_split.h"
#include "proxy/tls/tls_context.h"
#include "proxy/upstream/target_expansion.h"
#include "proxy/upstream/upstream_states.h"

namespace sluice::proxy {

SnapshotPtr buildSnapshot(config::ConfigPtr config, const std::vector<ResolvedTarget>& resolved,
                          uint64_t version, base::MetricsRegistry& metrics, base::StateStore& state,
                          std::string& error, bool* resource_error, UpstreamStates* states,
                          int64_t now_ms, StatusWindows* windows) {
  auto snap = std::make_shared<Snapshot>(std::move(config));
  const config::Config& c = *snap->config;
  snap->version = version;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  snap->loaded_at = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  if (windows != nullptr) windows->prune();
  for (const config::Upstream& u : c.upstreams) {
    UpstreamRuntime rt;
    rt.config = &u;
    // Every address of every target (target_expansion.h), keyed by the address.
    rt.targets = expandTargets(u, resolved, error);
    if (rt.targets.empty() && !u.discovery) return nullptr;  // discovery: none registered yet
    rt.state =
        states != nullptr ? states->upstream(u.name) : std::make_shared<balancer::UpstreamState>();
    for (const ResolvedTarget& t : rt.targets) {
      auto ts = states != nullptr ? states->target(u.name, t.address, now_ms)
                                  : std::make_shared<balancer::TargetState>(
                                        rt.state, balancer::TargetState::kReadyLongAgo);
      rt.configured.push_back(
          balancer::TargetWeight{t.weight, ts.get(), balancer::hashKey(t.address)});
      rt.target_states.push_back(std::move(ts));
      if (windows != nullptr) {
        rt.target_windows.push_back(windows->target(u.name, t.address, now_ms));
      }
    }
    if (u.tls) {
      rt.tls = TlsClientContext::build(*u.tls, error, u.protocol == config::UpstreamProtocol::H2);
      if (!rt.tls) {
        error = "upstream " + u.name + ": " + error;
        if (resource_error != nullptr) *resource_error = true;
        return nullptr;
      }
    }
    snap->upstreams.push_back(std::move(rt));
  }
  for (const config::Listener& l : c.listeners) {
    std::shared_ptr<TlsServerContext> tls;
    if (l.tls) {
      tls = TlsServerContext::build(*l.tls, error);
      if (!tls) {
        error = "listener " + l.name + ": " + error;
        if (resource_error != nullptr) *resource_error = true;
        return nullptr;
      }
    }
    snap->listener_tls.push_back(std::move(tls));
  }
  for (const config::Route& r : c.routes) {
    RouteRuntime rt;
    rt.config = &r;
    if (!r.upstreams.empty()) {
      rt.split = RouteSplit::build(c, r, error);
      if (!rt.split) return nullptr;
    } else if (!r.respond && !r.redirect) {
      for (size_t i = 0; i < c.upstreams.size(); ++i) {
        if (c.upstreams[i].name == r.upstream) rt.upstream = static_cast<int>(i);
      }
      if (rt.upstream < 0) {
        error = "route " + r.name + ": unknown upstream " + r.upstream;
        return nullptr;
      }
    }
    std::shared_ptr<balancer::UpstreamState> ustate;
    std::vector<std::shared_ptr<balancer::TargetState>> tstates;
    if (rt.upstream >= 0) {
      ustate = snap->upstreams[static_cast<size_t>(rt.upstream)].state;
      tstates = snap->upstreams[static_cast<size_t>(rt.upstream)].target_states;
    }
    if (!filters::buildRouteChain(c, r, metrics, state, rt.filters, error, ustate, tstates)) {
      return nullptr;
    }
    for (const auto& f : rt.filters) {
      rt.body_filters = rt.body_filters || f->needsResponseBody();
      rt.request_body_filters = rt.request_body_filters || f->needsRequestBody();
      rt.forwarded_head_filters = rt.forwarded_head_filters || f->readsForwardedHead();
    }
    if (windows != nullptr) rt.window = windows->route(r.name, now_ms);
    snap->routes.push_back(std::move(rt));
  }
  return snap;
}

}  // namespace sluice::proxy

namespace sluice::proxy {

std::shared_ptr<TlsServerContext> listenerTls(const Snapshot& snapshot,
                                              const std::string& address) {
  const auto& ls = snapshot.config->listeners;
  for (size_t i = 0; i < ls.size() && i < snapshot.listener_tls.size(); ++i) {
    if (ls[i].address.text() == address) return snapshot.listener_tls[i];
  }
  return nullptr;
}

namespace {
const config::Listener* listenerAt(const Snapshot& snapshot, const std::string& address) {
  for (const config::Listener& l : snapshot.config->listeners) {
    if (l.address.text() == address) return &l;
  }
  return nullptr;
}
}  // namespace

bool listenerProxyProtocol(const Snapshot& snapshot, const std::string& address) {
  const config::Listener* l = listenerAt(snapshot, address);
  return l != nullptr && l->proxy_protocol;
}

bool listenerDeferAccept(const Snapshot& snapshot, const std::string& address) {
  const config::Listener* l = listenerAt(snapshot, address);
  return l != nullptr && l->defer_accept;
}

config::Http2Settings listenerHttp2(const Snapshot& snapshot, const std::string& address) {
  const config::Listener* l = listenerAt(snapshot, address);
  return l != nullptr ? l->http2 : config::Http2Settings{};
}

}  // namespace sluice::proxy
