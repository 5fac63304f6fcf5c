// The status page's charts: one small inline SVG per route or upstream, drawn on the server
// (no script, no external asset), with three panels side by side over the last 5 minutes —
// requests per second, p99 latency and the share of 5xx — one point per 5-second slot.
#pragma once

#include <string>
#include <string_view>

#include "proxy/runtime/status_windows.h"

namespace sluice::proxy {

// `kind` is "route" or "upstream": the SVG carries data-route="name" or data-upstream="name"
// and class "chart"; each panel's line is a <path class="line" data-panel="rate|p99|errors">.
std::string renderChart(const SeriesView& view, std::string_view kind, std::string_view name);

// The points of one panel as an SVG path in a `width` x `height` box, scaled to `top` (values
// at or above it touch the top edge); negative values are gaps, and a point between gaps is a
// 2-unit dash. Empty when no point is drawn.
std::string chartPath(const double* values, size_t n, double top, double width, double height);

}  // namespace sluice::proxy
