// The effective config as JSON: printed by `sluice -T` and served by the admin `GET /config`.
#pragma once

#include <string>

#include "config/config.h"

namespace sluice::config {

// Every field of `config`, defaults included, as a JSON object (keys as in spec/config.md).
std::string toJson(const Config& config);

// `s` as a JSON string literal, quotes included.
std::string jsonQuote(std::string_view s);

}  // namespace sluice::config
