#include "filters/cache_policy.h"

#include "filters/cache_control.h"

namespace sluice::filters {

namespace {

// Whether the request's own directives let a response `staleness_ms` past its lifetime be
// served: not with min-fresh; max-stale bounds it; max-age without max-stale refuses any
// (RFC 9111 §5.2.1.1-3). The origin's permission (swr, sie) is checked by the callers.
bool clientAcceptsStale(const RequestDirectives& d, int64_t staleness_ms) {
  if (d.min_fresh_ms >= 0) return false;
  if (d.max_stale_ms >= 0) return staleness_ms <= d.max_stale_ms;
  return d.max_age_ms < 0;
}

}  // namespace

RequestDirectives parseRequestDirectives(const base::HeaderMap& headers) {
  CacheControl rcc = parseCacheControl(headers);
  if (!headers.has("cache-control")) {
    if (const std::string* pragma = headers.get("pragma")) {
      rcc.no_cache = base::headerHasToken(*pragma, "no-cache");
    }
  }
  RequestDirectives d;
  d.no_store = rcc.no_store;
  d.no_cache = rcc.no_cache || (rcc.max_age && *rcc.max_age == 0);
  d.only_if_cached = rcc.only_if_cached;
  if (rcc.max_age) d.max_age_ms = *rcc.max_age * 1000;
  if (rcc.min_fresh) d.min_fresh_ms = *rcc.min_fresh * 1000;
  if (rcc.max_stale) d.max_stale_ms = *rcc.max_stale * 1000;
  if (rcc.stale_if_error) d.stale_if_error_ms = *rcc.stale_if_error * 1000;
  return d;
}

Use usable(const RequestDirectives& d, const CachedResponse& e, int64_t now) {
  if (d.no_cache) return Use::No;
  int64_t age = e.ageAt(now);
  if (d.max_age_ms >= 0 && age > d.max_age_ms) return Use::No;
  int64_t left = e.lifetime_ms - age;  // freshness left; <= 0 once stale
  if (left > 0) return d.min_fresh_ms < 0 || left >= d.min_fresh_ms ? Use::Fresh : Use::No;
  if (e.must_revalidate || !clientAcceptsStale(d, -left)) return Use::No;
  if (-left < e.swr_ms) return Use::Swr;
  return d.max_stale_ms >= 0 ? Use::MaxStale : Use::No;
}

bool staleIfErrorOk(const RequestDirectives& d, const CachedResponse& e, int64_t now) {
  if (e.must_revalidate) return false;  // also no-cache, s-maxage (RFC 9111 §4.2.4)
  int64_t age = e.ageAt(now);
  int64_t staleness = age - e.lifetime_ms;
  // RFC 5861 §4: a request's stale-if-error says the client accepts that much staleness.
  bool allowed =
      staleness < e.sie_ms || (d.stale_if_error_ms >= 0 && staleness <= d.stale_if_error_ms);
  if (!allowed) return false;
  if (d.max_age_ms >= 0 && age > d.max_age_ms) return false;
  if (d.min_fresh_ms >= 0) return false;
  return d.max_stale_ms < 0 || staleness <= d.max_stale_ms;
}

std::string sameOriginKey(std::string_view host, std::string_view ref) {
  ref = base::trimOws(ref);
  ref = ref.substr(0, ref.find('#'));
  std::string_view path;
  if (ref.size() >= 1 && ref[0] == '/' && (ref.size() < 2 || ref[1] != '/')) {
    path = ref;
  } else {
    size_t scheme = ref.find("://");
    if (scheme == std::string_view::npos) return {};
    std::string_view s = ref.substr(0, scheme);
    if (!base::equalsIgnoreCase(s, "http") && !base::equalsIgnoreCase(s, "https")) return {};
    std::string_view rest = ref.substr(scheme + 3);
    size_t slash = rest.find_first_of("/?");
    if (!base::equalsIgnoreCase(rest.substr(0, slash), host)) return {};
    path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  }
  std::string key(host);
  if (!path.empty() && path[0] == '?') key += '/';
  key.append(path);
  return key;
}

}  // namespace sluice::filters
