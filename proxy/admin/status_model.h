// What GET /status and GET /status.json show, gathered once per request: the config snapshot,
// the metric series the features publish (read by name from the registry's exposition, so the
// page follows whatever health checks, breakers and limiters publish) and the rolling windows of
// routes and targets. The HTML page (status_page.h) and the JSON (status_json.h) both render it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/base/metrics_registry.h"
#include "proxy/runtime/snapshot.h"
#include "proxy/runtime/status_windows.h"

namespace sluice::proxy {

// One sample of a Prometheus text exposition.
struct ExpositionSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
// The samples of `text` (format 0.0.4); comment lines and lines that do not parse are skipped.
std::vector<ExpositionSample> parseExposition(std::string_view text);

struct StatusModel {
  uint64_t version = 0;
  double loaded_at = 0;     // unix seconds
  double generated_at = 0;  // unix seconds
  bool draining = false;

  struct Listener {
    std::string name, address;
    double open = 0, accepted = 0;
  };
  struct Route {
    std::string name, match, target;  // target: its upstream, split, or what sluice answers
    std::vector<std::string> filters;
    double requests = 0, status_5xx = 0;  // since start
    SeriesView window;
  };
  struct Target {
    std::string address;
    std::string name;  // the host:port it was resolved from, when not the address
    uint32_t weight = 1;
    std::optional<uint32_t> override_weight;  // the admin API's, when set
    bool drained = false;
    int health = -1;   // -1 unknown (nothing published), 0 unhealthy, 1 healthy
    int circuit = -1;  // -1 none, 0 closed, 1 open, 2 half-open
    std::optional<double> active;
    double responses = 0, connect_failures = 0, errors = 0;  // since start (errors: 5xx + failures)
    SeriesView window;
  };
  struct Upstream {
    std::string name, balancer;
    std::vector<Target> targets;
    SeriesView window;  // its targets' windows merged
  };
  struct RateLimit {
    std::string route, policy;
    double allowed = 0, limited = 0;
    std::optional<double> keys;
  };
  std::vector<Listener> listeners;
  std::vector<Route> routes;
  std::vector<Upstream> upstreams;
  std::vector<RateLimit> ratelimits;
};

// Main thread. `now_ms` is on the workers' clock (uv_now); `unix_now` the wall clock.
StatusModel collectStatus(const Snapshot& snapshot, const base::MetricsRegistry& registry,
                          int64_t now_ms, double unix_now, bool draining);

// The share a target's error-rate cell shows: over the last minute when it had tries, else
// since start; `recent` says which. Negative when there were no tries at all.
double targetErrorShare(const StatusModel::Target& t, bool* recent = nullptr);

}  // namespace sluice::proxy
