// The sluice_discovery_* counter families (README, "Service discovery (etcd)"); the gauges
// (sluice_discovery_targets, sluice_discovery_connected) are collected at scrape time by the
// DiscoveryManager, so an upstream whose discovery is removed stops being reported.
#pragma once

#include <string_view>

#include "filters/base/metrics_registry.h"

namespace sluice::proxy::discovery {

// Why a round with the registry failed (the `reason` label).
inline constexpr std::string_view kDiscoveryErrorReasons[] = {
    "connect",       // no connection (refused, unreachable, name not found)
    "timeout",       // no answer within `timeout`
    "http_status",   // an answer other than 200
    "bad_answer",    // an answer that is not what etcd sends
    "disconnected",  // the watch's connection ended
    "compacted",     // the watch's start revision was compacted away: read again
    "bad_value",     // a registration whose value is not a target (left out)
};

struct DiscoveryMetrics {
  explicit DiscoveryMetrics(base::MetricsRegistry& registry);
  // Every reason at 0 for `upstream`, so rate() and "is it 0?" work from the start.
  void declare(std::string_view upstream);

  base::MetricsRegistry& registry;
  base::CounterFamily& updates_total;  // {upstream}: target sets applied from the registry
  base::CounterFamily& errors_total;   // {upstream, reason}
  base::GaugeFamily& targets;          // {upstream}: collected
  base::GaugeFamily& connected;        // {upstream}: collected, 1 while the watch is on
};

}  // namespace sluice::proxy::discovery
