#include "filters/cache_entry.h"

#include "filters/cache_control.h"
#include "filters/cdn_cache_control.h"

namespace sluice::filters {

namespace {

bool skippedField(std::string_view n) {
  return n == "content-length" || n == "age" || n == "x-cache" || n == "x-request-id" ||
         n == "transfer-encoding" || n == "connection" || n == "keep-alive";
}

// Stored fields: one per name (repeated ones joined with ", "), so a local reply's `extra`
// (which sets field by field) reproduces them.
void copyStoredFields(const base::HeaderMap& from, base::HeaderMap& to) {
  for (const base::Header& h : from) {
    if (skippedField(h.name)) continue;
    if (const std::string* old = to.get(h.name)) {
      to.set(h.name, *old + ", " + h.value);
    } else {
      to.add(h.name, h.value);
    }
  }
}

// Freshness of `e` from its headers (RFC 9111 §4.2): the explicit lifetime, else (for a
// heuristically cacheable status or `public`) the config's forced ttl / negative_ttl when set,
// else the Last-Modified heuristic (§4.2.2). `age_s` is the Age field of the response that
// brought the headers (a 200, or the 304 that revalidated `e`). False when it must not be stored.
bool computeFreshness(const StoreContext& c, CachedResponse& e, const CacheControl& cc,
                      bool use_expires, int64_t now, std::optional<int64_t> age_s) {
  std::optional<int64_t> date;
  if (const std::string* d = e.headers.get("date")) date = parseHttpDate(*d);
  // Without a valid Date, the time it was received stands in (RFC 9110 §6.6.1).
  int64_t date_s = date ? *date : now / 1000;
  std::optional<int64_t> lifetime = explicitLifetime(cc, e.headers, date_s, use_expires);
  const config::CacheFilter& cfg = c.f.config();
  if (!lifetime) {
    if (!heuristicallyCacheable(e.status) && !cc.is_public) return false;
    bool negative = e.status == 404 || e.status == 410;
    if (negative && cfg.negative_ttl) {
      lifetime = cfg.negative_ttl->count();
    } else if (cfg.ttl) {
      // A forced lifetime (departs from RFC 9111, README); it never covered 404/410, which
      // have negative_ttl for that.
      lifetime = negative ? 0 : cfg.ttl->count();
    } else {
      lifetime =
          heuristicLifetime(e.headers, date_s, cfg.heuristic_fraction, cfg.heuristic_max.count());
    }
    if (!lifetime || *lifetime <= 0) return false;
  }
  if (cc.no_cache) lifetime = 0;
  if (const std::string* v = e.headers.get("etag")) e.etag = *v;
  if (const std::string* v = e.headers.get("last-modified")) e.last_modified = *v;
  if (*lifetime <= 0 && e.etag.empty() && e.last_modified.empty()) return false;
  e.lifetime_ms = c.f.jittered(*lifetime);
  e.swr_ms = cc.stale_while_revalidate ? *cc.stale_while_revalidate * 1000
                                       : cfg.stale_while_revalidate.count();
  e.sie_ms = cc.stale_if_error ? *cc.stale_if_error * 1000 : cfg.stale_if_error.count();
  // s-maxage carries proxy-revalidate's meaning for a shared cache (RFC 9111 §5.2.2.10).
  e.must_revalidate = cc.must_revalidate || cc.no_cache || cc.s_maxage.has_value();
  ResponseTiming t;
  t.request_time_ms = c.request_time;
  t.response_time_ms = now;
  t.date_s = date;
  t.age_s = age_s;
  e.initial_age_ms = correctedInitialAge(t);
  e.response_time_ms = now;
  return true;
}

bool useCdn(const StoreContext& c) {
  return c.f.config().cdn_cache_control != config::CdnCacheControl::Ignore;
}

std::string_view fieldOr(const CachedResponse& e, std::string_view name) {
  const std::string* v = e.headers.get(name);
  return v != nullptr ? std::string_view(*v) : std::string_view{};
}

}  // namespace

std::unique_ptr<CachedResponse> prepareEntry(const StoreContext& c, const base::ResponseHead& head,
                                             int64_t now) {
  int s = head.status;
  if (s < 200 || s == 206 || s == 304) return nullptr;
  bool use_expires = true;
  CacheControl cc = responseDirectives(head.headers, useCdn(c), &use_expires);
  if (cc.no_store || cc.is_private) return nullptr;
  if (c.authorized && !cc.is_public && !cc.s_maxage && !cc.must_revalidate) return nullptr;
  if (head.headers.has("set-cookie")) return nullptr;  // never share one client's cookie
  auto e = std::make_unique<CachedResponse>();
  e->status = s;
  copyStoredFields(head.headers, e->headers);
  if (const std::string* vary = e->headers.get("vary")) {
    if (base::headerHasToken(*vary, "*")) return nullptr;
    std::string_view rest = *vary;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string name(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.erase(0, 1);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
      if (name.empty()) continue;
      base::toLowerInPlace(name);
      std::string value = varyValue(name, c.request);
      e->vary.emplace_back(std::move(name), std::move(value));
    }
  }
  if (!computeFreshness(c, *e, cc, use_expires, now, parseAgeField(head.headers))) return nullptr;
  return e;
}

// RFC 9111 §4.3.4: a 304 updates the stored fields, then freshness is computed anew, the 304's
// own Age included (§4.2.3: the 304 is the response whose age the entry now has).
void refreshEntry(const StoreContext& c, CachedResponse& e, const base::HeaderMap& fields,
                  int64_t now) {
  for (const base::Header& h : fields) {
    if (skippedField(h.name) || h.name == "content-encoding" || h.name == "content-type") {
      continue;
    }
    // A compressed variant carries a weakened ETag; the origin's strong one would lie.
    if (h.name == "etag" && e.etag.rfind("W/", 0) == 0 && h.value.rfind("W/", 0) != 0) continue;
    e.headers.set(h.name, h.value);
  }
  bool use_expires = true;
  CacheControl cc = responseDirectives(e.headers, useCdn(c), &use_expires);
  if (!computeFreshness(c, e, cc, use_expires, now, parseAgeField(fields))) e.lifetime_ms = 0;
}

void onRefreshed(const CacheFactory& f, const std::string& key, const CachedPtr& stale,
                 const base::HeaderMap& request, bool authorized, int64_t request_time,
                 bool validators_sent, std::optional<BackgroundResponse> r) {
  // Failed, 5xx, or too large: the stale copy stays (for stale_if_error, or until a client's
  // request past the window goes to the origin itself).
  if (!r || r->status >= 500) return;
  CachedPtr current = f.store().lookup(key, request);
  if (current != stale) return;  // replaced or purged meanwhile: what is there stays
  StoreContext c{f, request, authorized, request_time};
  int64_t now = f.now();
  if (r->status == 304) {
    if (!validators_sent) return;
    auto fresh = std::make_shared<CachedResponse>(*stale);
    refreshEntry(c, *fresh, r->headers, now);
    f.store().insert(key, std::move(fresh));
    return;
  }
  base::ResponseHead head;
  head.status = r->status;
  head.headers = std::move(r->headers);
  std::unique_ptr<CachedResponse> e = prepareEntry(c, head, now);
  // Not storable now, or not in the form of the stale variant (a filter after `cache` in the
  // chain, such as gzip, transformed what was stored, and a background response passes no
  // filter): the stale variant goes, so the next request fills it through the route's filters.
  if (!e || e->vary != stale->vary ||
      fieldOr(*e, "content-encoding") != fieldOr(*stale, "content-encoding")) {
    f.store().eraseVariant(key, stale);
    return;
  }
  e->body = std::make_shared<const std::string>(std::move(r->body));
  f.store().insert(key, std::move(e));
}

}  // namespace sluice::filters
