#include "proxy/upstream/discovery/discovery_metrics.h"

namespace sluice::proxy::discovery {

DiscoveryMetrics::DiscoveryMetrics(base::MetricsRegistry& r)
    : registry(r),
      updates_total(r.counter("sluice_discovery_updates_total",
                              "Target sets an upstream took from its service registry.",
                              {"upstream"})),
      errors_total(r.counter("sluice_discovery_errors_total",
                             "Failed rounds with an upstream's service registry, by reason.",
                             {"upstream", "reason"})),
      targets(r.gauge("sluice_discovery_targets",
                      "Targets an upstream currently has from its service registry.",
                      {"upstream"})),
      connected(r.gauge("sluice_discovery_connected",
                        "1 while the upstream's registry watch is established, else 0.",
                        {"upstream"})) {}

void DiscoveryMetrics::declare(std::string_view upstream) {
  updates_total.with({upstream});
  for (std::string_view reason : kDiscoveryErrorReasons) errors_total.with({upstream, reason});
}

}  // namespace sluice::proxy::discovery
