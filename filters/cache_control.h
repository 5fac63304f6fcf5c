// RFC 9111 arithmetic for the `cache` filter: Cache-Control directives, HTTP dates, freshness
// lifetime and age. Pure functions: times come in as milliseconds since the Unix epoch, so tests
// inject them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "filters/base/http_message.h"

namespace sluice::filters {

// The directives the cache acts on, from every Cache-Control field of a message. Durations are in
// seconds; an invalid or negative delta-seconds counts as 0 (RFC 9111 §1.2.2 says "stale").
struct CacheControl {
  bool no_store = false;
  bool no_cache = false;  // unqualified or with a field list: both mean "revalidate" here
  bool is_private = false;
  bool is_public = false;
  bool must_revalidate = false;  // also proxy-revalidate (we are a shared cache)
  bool no_transform = false;
  bool only_if_cached = false;  // request: answer from the store or 504 (RFC 9111 §5.2.1.7)
  std::optional<int64_t> max_age;
  std::optional<int64_t> s_maxage;
  std::optional<int64_t> stale_while_revalidate;
  std::optional<int64_t> stale_if_error;
  std::optional<int64_t> min_fresh;  // request (RFC 9111 §5.2.1.3)
  std::optional<int64_t> max_stale;  // request; without a value: any staleness (kAnyStale)
};
inline constexpr int64_t kAnyStale = 2147483648LL;

CacheControl parseCacheControl(const base::HeaderMap& headers);
CacheControl parseCacheControl(std::string_view value);

// An HTTP-date (IMF-fixdate, RFC 850 or asctime form) as seconds since the epoch.
std::optional<int64_t> parseHttpDate(std::string_view value);

// What the cache knows about a response when it arrives.
struct ResponseTiming {
  int64_t request_time_ms = 0;    // when the request went to the origin
  int64_t response_time_ms = 0;   // when the response head arrived
  std::optional<int64_t> date_s;  // Date field
  std::optional<int64_t> age_s;   // Age field
};

// RFC 9111 §4.2.3 corrected_initial_age, in milliseconds. apparent_age takes response_time
// truncated to whole seconds: Date has whole seconds, so comparing it with a sub-second receive
// time would make every response up to 1 s older than it is (a max-age=1 response stale at once).
int64_t correctedInitialAge(const ResponseTiming& t);

// The Age field's delta-seconds (capped at 2^31); null when absent or invalid: anything but one
// non-negative integer ("1.5", "-1", "7a", two fields) is ignored (RFC 9111 §5.1).
std::optional<int64_t> parseAgeField(const base::HeaderMap& headers);

// The current age of a stored response (RFC 9111 §4.2.3), in milliseconds.
inline int64_t currentAge(int64_t initial_age_ms, int64_t response_time_ms, int64_t now_ms) {
  int64_t resident = now_ms - response_time_ms;
  return initial_age_ms + (resident > 0 ? resident : 0);
}

// RFC 9111 §4.2.1 explicit freshness lifetime for a shared cache, in milliseconds: s-maxage, then
// max-age, then Expires - Date (an invalid Expires: 0, already expired), Expires only when
// `use_expires` (RFC 9213: not beside a CDN-Cache-Control in use). `date_s` is the Date field,
// or when it is absent or invalid the time the response was received (RFC 9110 §6.6.1). Null
// when the response says nothing (a heuristic may apply).
std::optional<int64_t> explicitLifetime(const CacheControl& cc, const base::HeaderMap& headers,
                                        int64_t date_s, bool use_expires = true);

// RFC 9111 §4.2.2 heuristic freshness: `fraction` of the time between Last-Modified and `date_s`
// (as above), at most `max_ms`. Null without a valid Last-Modified earlier than that, or when
// it comes to nothing.
std::optional<int64_t> heuristicLifetime(const base::HeaderMap& headers, int64_t date_s,
                                         double fraction, int64_t max_ms);

// Statuses that RFC 9110 §15.1 makes heuristically cacheable.
bool heuristicallyCacheable(int status);

// If-None-Match (RFC 9110 §13.1.2, weak comparison) against a stored ETag.
bool etagListMatches(std::string_view if_none_match, std::string_view etag);

}  // namespace sluice::filters
