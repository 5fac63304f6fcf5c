// Which exposition format a scraper gets from GET /metrics: the Prometheus text format 0.0.4
// by default, OpenMetrics 1.0 (with exemplars) when the Accept field prefers it, as
// Prometheus's own scrape Accept does ("application/openmetrics-text;version=1.0.0,...,
// text/plain;version=0.0.4;q=0.5").
#pragma once

#include <string_view>

namespace sluice::proxy {

// True when `accept` names application/openmetrics-text with a q above 0 and not below the q
// it gives text/plain (or */* when text/plain is not named).
bool prefersOpenMetrics(std::string_view accept);

inline constexpr const char* kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

}  // namespace sluice::proxy
