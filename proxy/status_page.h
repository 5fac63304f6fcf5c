// The admin GET /status page: a self-contained HTML overview (no external assets).
#pragma once

#include <string>

#include "proxy/snapshot.h"

namespace sluice::proxy {

std::string renderStatusPage(const Snapshot& snapshot);

// `s` with &, <, >, " and ' escaped for HTML text and attributes.
std::string htmlEscape(std::string_view s);

}  // namespace sluice::proxy
