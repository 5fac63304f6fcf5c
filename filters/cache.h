// The `cache` filter: an RFC 9111 shared cache in memory (filters/cache_store.h), with one origin
// request per cold key (breakdown), stale-while-revalidate / stale-if-error and ttl jitter
// (avalanche), and negative caching of 404/410 (penetration).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "config/config.h"
#include "filters/base/metrics_registry.h"
#include "filters/cache_store.h"
#include "filters/filter.h"

namespace sluice::filters {

// Milliseconds since the Unix epoch; tests inject their own.
using WallClock = std::function<int64_t()>;
int64_t systemWallClockMs();

class CacheFactory final : public FilterFactory {
 public:
  struct Counters {
    base::Counter* hit;
    base::Counter* miss;
    base::Counter* stale;
    base::Counter* bypass;
  };
  // How long a request waits for another one filling the same key before it goes to the origin
  // itself.
  static constexpr std::chrono::milliseconds kFillWait{5000};

  CacheFactory(const config::CacheFilter& cfg, std::shared_ptr<CacheStore> store, Counters counters,
               WallClock clock = systemWallClockMs,
               std::chrono::milliseconds fill_wait = kFillWait);
  std::unique_ptr<Filter> create() const override;
  bool needsResponseBody() const override { return true; }

  const config::CacheFilter& config() const { return cfg_; }
  CacheStore& store() const { return *store_; }
  const Counters& counters() const { return counters_; }
  int64_t now() const { return clock_(); }
  std::chrono::milliseconds fillWait() const { return fill_wait_; }
  // The lifetime after ttl_jitter: lifetime * (1 - jitter * u), u uniform in [0, 1).
  int64_t jittered(int64_t lifetime_ms) const;

 private:
  config::CacheFilter cfg_;
  std::shared_ptr<CacheStore> store_;
  Counters counters_;
  WallClock clock_;
  std::chrono::milliseconds fill_wait_;
};

}  // namespace sluice::filters

#include "filters/registry.h"

namespace sluice::filters {

// The registry's builder: the route's store comes from the StateStore, keyed by route, position
// and settings, so a reload that keeps the filter keeps its entries.
std::shared_ptr<const FilterFactory> buildCacheFactory(const FilterBuildContext& ctx,
                                                       const config::CacheFilter& cfg);

}  // namespace sluice::filters
