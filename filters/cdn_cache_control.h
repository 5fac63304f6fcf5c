// The response directives the `cache` filter decides by: CDN-Cache-Control (RFC 9213), a
// Structured Fields dictionary (RFC 8941) that, when present, valid and non-empty, replaces
// Cache-Control and Expires for this cache; otherwise Cache-Control. Pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "filters/base/http_message.h"
#include "filters/cache_control.h"

namespace sluice::filters {

// The directives of one CDN-Cache-Control value (all its fields joined with ", "); null when it
// is empty or not a valid Structured Fields dictionary (RFC 9213 §2.1: then it is ignored).
// Directives whose value has the wrong type (max-age="60", max-age=1.5) are ignored.
std::optional<CacheControl> parseCdnCacheControl(std::string_view value);

// What a response says to this cache: CDN-Cache-Control when `use_cdn` and it is valid (then
// `*use_expires` is false: Expires is ignored too), else Cache-Control (`*use_expires` true).
CacheControl responseDirectives(const base::HeaderMap& headers, bool use_cdn, bool* use_expires);

}  // namespace sluice::filters
