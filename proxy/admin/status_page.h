// The admin GET /status page: a self-contained HTML overview (no external assets) of the config
// and of what the metrics registry holds right now — target health, circuit state, error rates,
// rate-limit activity. It reads metric series by name at render time, so it shows whatever the
// features that publish them (health checks, breakers, limiters) have published.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "filters/base/metrics_registry.h"
#include "proxy/runtime/snapshot.h"

namespace sluice::proxy {

// `s` with &, <, >, " and ' escaped for HTML text and attributes.
std::string htmlEscape(std::string_view s);

// One sample of a Prometheus text exposition.
struct ExpositionSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
// The samples of `text` (format 0.0.4); comment lines and lines that do not parse are skipped.
std::vector<ExpositionSample> parseExposition(std::string_view text);

// Renders the page and remembers per-target totals of recent renders, so the error rate shown
// is the one of the last minute when the page has been looked at (it refreshes every 5 s) and
// the one since start otherwise. Owned by the Server; main thread only.
class StatusPage {
 public:
  std::string render(const Snapshot& snapshot, const base::MetricsRegistry& registry,
                     double monotonic_seconds, bool draining);

 private:
  struct Totals {
    double attempts = 0;  // upstream responses + failed connects
    double errors = 0;    // 5xx responses + failed connects
  };
  using TargetTotals = std::map<std::string, Totals>;  // "upstream\ntarget" -> totals
  std::deque<std::pair<double, TargetTotals>> history_;
};

}  // namespace sluice::proxy
