// The `cache` filter's storage: one process-wide, sharded, byte-bounded LRU per cache policy,
// shared by all workers, kept in the StateStore so it survives reloads that keep the policy.
// It also coordinates fills (one origin request per cold key) and answers the admin purge.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "filters/base/http_message.h"
#include "filters/base/metrics_registry.h"
#include "filters/base/state_store.h"
#include "filters/filter.h"

namespace sluice::filters {

// One stored response (one variant of a key). Immutable once stored; a refresh stores a copy that
// shares the body.
struct CachedResponse {
  int status = 200;
  base::HeaderMap headers;  // as served, without content-length, age, x-cache, x-request-id
  std::shared_ptr<const std::string> body;
  // Vary: lower-case field name -> the request's normalised value when stored.
  std::vector<std::pair<std::string, std::string>> vary;
  int64_t response_time_ms = 0;  // wall clock, when stored or last revalidated
  int64_t initial_age_ms = 0;    // RFC 9111 corrected_initial_age
  int64_t lifetime_ms = 0;       // freshness lifetime (jitter applied)
  int64_t swr_ms = 0;            // stale-while-revalidate window after the lifetime
  int64_t sie_ms = 0;            // stale-if-error window after the lifetime
  bool must_revalidate = false;  // never served stale
  std::string etag;
  std::string last_modified;

  int64_t ageAt(int64_t now_ms) const;
  bool freshAt(int64_t now_ms) const { return ageAt(now_ms) < lifetime_ms; }
  size_t bytes() const;  // what the entry counts against max_bytes
};
using CachedPtr = std::shared_ptr<const CachedResponse>;

// The value a request field is compared by for Vary: Accept-Encoding is reduced to the q-values
// of the codings sluice produces, so equivalent headers share one variant; other fields are the
// joined values with runs of blanks collapsed.
std::string varyValue(std::string_view lname, const base::HeaderMap& request);

// Called with the request's callbacks (on its own worker) when a fill it waited for is over;
// `origin_failed` tells that the origin answered 5xx or could not be reached.
using FillWaiter = std::function<void(FilterCallbacks&, bool origin_failed)>;

class CacheStore {
 public:
  static constexpr size_t kShards = 16;

  // `bytes_gauge` (sluice_cache_bytes) and `entries_gauge` (sluice_cache_entries: responses
  // stored, each variant one) are kept up to date by deltas; `evictions`
  // (sluice_cache_evictions_total) counts responses dropped to stay within max_bytes. Any may be
  // null.
  CacheStore(uint64_t max_bytes, base::Gauge* bytes_gauge, base::Gauge* entries_gauge = nullptr,
             base::Counter* evictions = nullptr);
  ~CacheStore();
  CacheStore(const CacheStore&) = delete;
  CacheStore& operator=(const CacheStore&) = delete;

  // The variant of `key` whose Vary values match `request`, marked recently used; null if none.
  // Any worker thread.
  CachedPtr lookup(const std::string& key, const base::HeaderMap& request);
  // Stores `entry` under `key`, replacing the variant with the same Vary values, then evicts the
  // least recently used keys of its shard until the shard fits. An entry larger than a shard's
  // share (max_bytes / kShards) is not stored; returns whether it was.
  bool insert(const std::string& key, CachedPtr entry);
  // Removes `key` (all variants), or every key starting with it when `prefix`. Returns how many
  // keys went.
  size_t purge(std::string_view key, bool prefix);

  // Fills: the first caller for a key becomes its filler (true); later callers are registered as
  // waiters (when `waiter` is set) and get false. The filler must call endFill exactly once.
  bool beginFill(const std::string& key, std::shared_ptr<Waker> waker, FillWaiter waiter);
  void endFill(const std::string& key, bool origin_failed);

  // Background refreshes (stale-while-revalidate): true for the first caller for a key, who
  // must call endRefresh once its refresh is over; false while one is running.
  bool beginRefresh(const std::string& key);
  void endRefresh(const std::string& key);
  // Removes the variant `entry` of `key` if it is still stored (not yet replaced or purged).
  void eraseVariant(const std::string& key, const CachedPtr& entry);

  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t maxBytes() const { return max_bytes_; }
  size_t largestEntry() const { return shard_capacity_; }

 private:
  struct Item {
    std::string key;
    std::vector<CachedPtr> variants;
    size_t bytes = 0;
  };
  struct Waiting {
    std::shared_ptr<Waker> waker;
    FillWaiter fn;
  };
  struct Shard {
    std::mutex mu;
    std::list<Item> lru;  // most recently used first
    std::unordered_map<std::string_view, std::list<Item>::iterator> index;  // views into Item::key
    uint64_t bytes = 0;
    std::unordered_map<std::string, std::vector<Waiting>> fills;
    std::unordered_set<std::string> refreshing;
  };
  Shard& shardOf(std::string_view key);
  void account(int64_t delta);
  void countEntries(int64_t delta);
  void eraseLocked(Shard& s, std::list<Item>::iterator it);

  uint64_t max_bytes_;
  size_t shard_capacity_;
  base::Gauge* gauge_;
  base::Gauge* entries_gauge_;
  base::Counter* evictions_;
  std::atomic<uint64_t> bytes_{0};
  std::atomic<int64_t> entries_{0};
  Shard shards_[kShards];
};

// Every cache store of the process, for the admin purge. Lives in the StateStore under
// kCacheRegistryKey; stores register when a snapshot builds them.
class CacheRegistry {
 public:
  void add(const std::shared_ptr<CacheStore>& store);
  size_t purge(std::string_view key, bool prefix);

 private:
  std::mutex mu_;
  std::vector<std::weak_ptr<CacheStore>> stores_;
};
inline constexpr const char* kCacheRegistryKey = "cache/registry";

// POST /cache/purge on the admin listener (main thread): `key=HOST/PATH?QUERY` removes one key,
// `prefix=HOST/PATH` every key starting with it; form-encoded, in the query or the body.
struct PurgeOutcome {
  int status;
  std::string body;  // JSON, or a plain-text error
  // With status 200: the key, or the prefix when `prefix`, that was purged (cache_sync
  // publishes it).
  std::string value = {};
  bool prefix = false;
};
PurgeOutcome purgeFromAdmin(base::StateStore& state, std::string_view query, std::string_view body);

}  // namespace sluice::filters
