#include "filters/cache_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace sluice::filters {
namespace {

CachedPtr entry(size_t body_bytes, const char* accept_encoding = nullptr) {
  auto r = std::make_shared<CachedResponse>();
  r->body = std::make_shared<const std::string>(body_bytes, 'x');
  if (accept_encoding != nullptr) r->vary.emplace_back("accept-encoding", accept_encoding);
  return r;
}

// sluice_cache_entries counts stored responses (each variant one) and follows replacements,
// purges and evictions; sluice_cache_evictions_total counts only what max_bytes pushed out.
TEST(CacheStore, CountsEntriesAndEvictions) {
  base::Gauge bytes, entries;
  base::Counter evictions;
  // 16 shards of 4 KiB: keys below land in shards by hash, so fill one key's shard directly.
  auto store = std::make_unique<CacheStore>(16 * 4096, &bytes, &entries, &evictions);
  ASSERT_TRUE(store->insert("a", entry(100, "gzip")));
  ASSERT_TRUE(store->insert("a", entry(100, "br")));    // a second variant
  ASSERT_TRUE(store->insert("a", entry(200, "gzip")));  // replaces the first
  ASSERT_TRUE(store->insert("b", entry(100)));
  EXPECT_EQ(entries.value(), 3);
  EXPECT_EQ(evictions.value(), 0u);
  EXPECT_EQ(store->purge("b", false), 1u);
  EXPECT_EQ(entries.value(), 2);
  EXPECT_EQ(evictions.value(), 0u) << "a purge is not an eviction";

  // Same-shard keys until the shard overflows: the least recently used go, and are counted.
  int stored = 0;
  for (int i = 0; i < 400 && evictions.value() == 0; ++i) {
    if (store->insert("k" + std::to_string(i), entry(1500))) ++stored;
  }
  EXPECT_GT(evictions.value(), 0u);
  EXPECT_EQ(entries.value(), 2 + stored - static_cast<double>(evictions.value()));
  EXPECT_GT(bytes.value(), 0);
  store.reset();  // a store dropped by a reload takes its entries out of the gauge
  EXPECT_EQ(entries.value(), 0);
  EXPECT_EQ(bytes.value(), 0);
}

}  // namespace
}  // namespace sluice::filters
