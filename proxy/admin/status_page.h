// The admin GET /status page: a self-contained HTML overview (no external assets, works
// offline) of the config and of what is happening now — listeners, routes and targets with
// their counters since start and their rolling 1- and 5-minute rates, latencies and error
// shares, charts of the last 5 minutes, target health, circuit state and rate-limit activity.
// The page refreshes itself in place (a few lines of inline script fetch it again and swap the
// body, keeping the scroll position); without script a <noscript> meta refresh reloads it.
#pragma once

#include <string>
#include <string_view>

#include "proxy/admin/status_model.h"

namespace sluice::proxy {

// `s` with &, <, >, " and ' escaped for HTML text and attributes.
std::string htmlEscape(std::string_view s);

inline constexpr int kStatusRefreshSeconds = 5;
// The refresh interval a query asks for (`refresh=N`, 1 to 3600 seconds), else the default.
int statusRefreshSeconds(std::string_view query);

// The page. `extra_sections` is HTML that other files render (events, subsystems), placed
// after the built-in sections.
std::string renderStatusPage(const StatusModel& model, std::string_view extra_sections,
                             int refresh_seconds = kStatusRefreshSeconds);

}  // namespace sluice::proxy
