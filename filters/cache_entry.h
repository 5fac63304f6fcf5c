// The `cache` filter's entries: what to store of an origin response (RFC 9111 §3), its freshness
// and age (§4.2), freshening by a 304 (§4.3.4) and the end of a background refresh. Called on the
// worker that got the response; times are the factory's wall clock, so tests inject them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "filters/base/http_message.h"
#include "filters/cache.h"
#include "filters/cache_store.h"

namespace sluice::filters {

// What storing a response needs to know of its request.
struct StoreContext {
  const CacheFactory& f;
  const base::HeaderMap& request;  // the request's fields (Vary values)
  bool authorized;                 // the request carried Authorization
  int64_t request_time;            // wall clock when it went to the origin
};

// The entry to store for response `head` (its body still to come); null when it must not be
// stored.
std::unique_ptr<CachedResponse> prepareEntry(const StoreContext& c, const base::ResponseHead& head,
                                             int64_t now);

// Freshens a copy of a stored entry with the fields of the origin's 304 (`fields`, its Age
// included); a lifetime of 0 when the result may not be reused.
void refreshEntry(const StoreContext& c, CachedResponse& e, const base::HeaderMap& fields,
                  int64_t now);

// A stale-while-revalidate refresh of `stale` under `key` is over (on the worker that started
// it; the request that started it may be gone): `r` is its response, nullopt when it failed.
// Stores what it brought, or leaves or removes the stale variant.
void onRefreshed(const CacheFactory& f, const std::string& key, const CachedPtr& stale,
                 const base::HeaderMap& request, bool authorized, int64_t request_time,
                 bool validators_sent, std::optional<BackgroundResponse> r);

}  // namespace sluice::filters
