// GET /status.json: what the status page shows, for scripts. The object has top-level keys
// (listeners, routes, upstreams, ratelimits, ...) to which other sections add their own
// (events, cache, compression, http2, tls) before it is written out. README "Status page"
// documents the schema.
#pragma once

#include <nlohmann/json.hpp>

#include "proxy/admin/status_model.h"

namespace sluice::proxy {

nlohmann::json statusJson(const StatusModel& model);

// {seconds, requests, rate, p50_ms, p99_ms, status_4xx, status_5xx, share_4xx, share_5xx} of
// one window (p50/p99 null without latency samples).
nlohmann::json windowJson(const WindowSummary& w);
// {step_seconds, end, rate, p99_ms, share_5xx, requests}: the chart points, oldest first.
nlohmann::json seriesJson(const SeriesView& v, double end_unix);

}  // namespace sluice::proxy
