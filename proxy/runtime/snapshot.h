// One immutable, ready-to-serve view of a config: the validated Config plus what the data path
// derives from it once (route chains, resolved target addresses). Built on the main thread at
// start and on reload, then shared read-only by every worker; a request keeps the snapshot it
// started with alive.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "balancer/balancer.h"
#include "balancer/target_state.h"
#include "config/config.h"
#include "filters/base/metrics_registry.h"
#include "filters/base/state_store.h"
#include "filters/chain.h"
#include "proxy/stream/router.h"

namespace sluice::proxy {

// One address of a target (proxy/upstream/target_expansion.h: a name expands to every address
// it resolves to, an `srv:` target to its records' addresses).
struct ResolvedTarget {
  // `ip:port` (`[v6]:port`): the pool key, the metric label and the key of its health, load and
  // breaker state, which survive reloads and re-resolutions for as long as the address stays.
  std::string address;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  uint32_t weight = 1;  // the config's weight, or the SRV record's
  std::string host;     // the host part as written (for srv: the record's target): the TLS server
                        // name when no `sni` is set
  std::string name;     // `host:port` it was reached by: Host of a request that had none
  std::string source;   // the config target: its address as written, or `srv:NAME`
  bool stale = false;   // kept from an earlier resolution: the name stopped resolving
};

class TlsServerContext;
class RouteSplit;
class TlsClientContext;
class UpstreamStates;
class StatusSeries;
class StatusWindows;

struct UpstreamRuntime {
  const config::Upstream* config = nullptr;
  std::vector<ResolvedTarget> targets;
  std::shared_ptr<TlsClientContext> tls;  // null: plain HTTP to the targets
  // Process-wide state (survives reloads): the upstream's, and one per target (same order).
  std::shared_ptr<balancer::UpstreamState> state;
  std::vector<std::shared_ptr<balancer::TargetState>> target_states;
  std::vector<balancer::TargetWeight> configured;  // weights, states and ring ids, per target
  // The status page's rolling windows per target (same order; empty without a StatusWindows).
  std::vector<std::shared_ptr<StatusSeries>> target_windows;
};

struct RouteRuntime {
  const config::Route* config = nullptr;
  int upstream = -1;  // index into Snapshot::upstreams; -1 for respond:, redirect: and splits
  // `upstreams:` (a weighted split): the side is chosen per request (route_split.h); null else.
  std::shared_ptr<const RouteSplit> split;
  filters::FactoryList filters;
  bool body_filters = false;            // some filter touches response bodies
  bool request_body_filters = false;    // some filter reads or changes request bodies
  bool forwarded_head_filters = false;  // some filter reads or edits the forwarded request head
  // The status page's rolling windows of the route; null without a StatusWindows.
  std::shared_ptr<StatusSeries> window;
};

struct Snapshot {
  config::ConfigPtr config;
  std::vector<RouteRuntime> routes;
  std::vector<UpstreamRuntime> upstreams;
  Router router;
  std::vector<std::shared_ptr<TlsServerContext>> listener_tls;  // per config listener, or null
  uint64_t version = 0;
  double loaded_at = 0;  // unix seconds

  explicit Snapshot(config::ConfigPtr c) : config(std::move(c)), router(config->routes) {}
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Builds the route chains and upstream tables of `config`; each target expands to its addresses
// in `resolved` (see resolver.h and target_expansion.h). Returns null with `error` on failure.
// `metrics` and `state` are handed to the filter builders; `windows` gives routes and targets
// their status-page windows (kept by name across snapshots). Certificates and keys are read here:
// when one cannot be used, `resource_error` is set besides `error` (exit code 2 at start).
SnapshotPtr buildSnapshot(config::ConfigPtr config, const std::vector<ResolvedTarget>& resolved,
                          uint64_t version, base::MetricsRegistry& metrics, base::StateStore& state,
                          std::string& error, bool* resource_error = nullptr,
                          UpstreamStates* states = nullptr, int64_t now_ms = 0,
                          StatusWindows* windows = nullptr);

// The TLS context of the listener at `address` in `snapshot`, or null.
std::shared_ptr<TlsServerContext> listenerTls(const Snapshot& snapshot, const std::string& address);

// Whether the listener at `address` in `snapshot` expects a PROXY header on each connection.
bool listenerProxyProtocol(const Snapshot& snapshot, const std::string& address);
bool listenerDeferAccept(const Snapshot& snapshot, const std::string& address);
// The `http2` settings of the listener at `address` (defaults when none is configured there).
config::Http2Settings listenerHttp2(const Snapshot& snapshot, const std::string& address);

}  // namespace sluice::proxy
