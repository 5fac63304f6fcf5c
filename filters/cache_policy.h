// What a request's own directives let the `cache` filter do with a stored response (RFC 9111
// §4.2.4, §5.2.1; RFC 5861 stale-if-error), and which keys an unsafe method invalidates (§4.4).
// Pure functions; times are the factory's wall clock in milliseconds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "filters/base/http_message.h"
#include "filters/cache_store.h"

namespace sluice::filters {

// A request's Cache-Control (and Pragma) as the cache uses them; -1 = absent.
struct RequestDirectives {
  bool no_store = false;
  bool no_cache = false;  // no-cache, max-age=0, or Pragma: no-cache without Cache-Control
  bool only_if_cached = false;
  int64_t max_age_ms = -1;
  int64_t min_fresh_ms = -1;
  int64_t max_stale_ms = -1;
  int64_t stale_if_error_ms = -1;
};
RequestDirectives parseRequestDirectives(const base::HeaderMap& headers);

// How a stored variant may answer a request, given both sides' directives: Fresh (HIT), Swr
// (STALE and one background refresh), MaxStale (STALE: the client's max-stale allows it), No
// (revalidate or fetch).
enum class Use { Fresh, Swr, MaxStale, No };
Use usable(const RequestDirectives& d, const CachedResponse& e, int64_t now);

// The origin failed (5xx, unreachable, timed out): whether `e` may answer instead. Allowed within
// the response's (or config's) stale-if-error window or the request's own stale-if-error, never
// for must-revalidate / proxy-revalidate / s-maxage / no-cache; the request's max-age,
// min-fresh and max-stale still bound it (its no-cache does not: the alternative is an error).
bool staleIfErrorOk(const RequestDirectives& d, const CachedResponse& e, int64_t now);

// The cache key a Location / Content-Location value names when it is on `host` (lower-case), the
// request's own authority: an absolute path, or an http(s) URI with that authority. Empty for
// anything else (other hosts must not be invalidated by this one, RFC 9111 §4.4).
std::string sameOriginKey(std::string_view host, std::string_view ref);

}  // namespace sluice::filters
