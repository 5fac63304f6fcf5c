#include "proxy/tls/tls_session_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::proxy {
namespace {

std::string idOf(int i) {
  return "id-" + std::to_string(i);
}

TEST(TlsSessionStore, KeepsUntilExpiry) {
  TlsSessionStore store;
  EXPECT_TRUE(store.put("a", "session-a", 100, 10));
  EXPECT_EQ(store.get("a", 99), "session-a");
  EXPECT_EQ(store.get("b", 50), "");
  EXPECT_EQ(store.get("a", 100), "") << "expired at its expiry time";
  EXPECT_EQ(store.size(), 0u) << "an expired entry is dropped when met";
}

TEST(TlsSessionStore, ReplaceAndRemove) {
  TlsSessionStore store;
  EXPECT_TRUE(store.put("a", "one", 100, 0));
  EXPECT_TRUE(store.put("a", "two", 100, 0));
  EXPECT_EQ(store.get("a", 1), "two");
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.bytes(), 4u);
  store.remove("a");
  store.remove("never-there");
  EXPECT_EQ(store.get("a", 1), "");
  EXPECT_EQ(store.bytes(), 0u);
}

TEST(TlsSessionStore, RefusesEmptyAndOversized) {
  TlsSessionStore store;
  EXPECT_FALSE(store.put("", "x", 100, 0));
  EXPECT_FALSE(store.put("a", "", 100, 0));
  EXPECT_FALSE(store.put("a", std::string(TlsSessionStore::kMaxSessionBytes + 1, 'x'), 100, 0));
  EXPECT_TRUE(store.put("a", std::string(TlsSessionStore::kMaxSessionBytes, 'x'), 100, 0));
  EXPECT_EQ(store.size(), 1u);
}

TEST(TlsSessionStore, BoundedInCountOldestGoFirst) {
  TlsSessionStore store;
  const int n = static_cast<int>(TlsSessionStore::kMaxSessions) * 2;
  for (int i = 0; i < n; ++i) ASSERT_TRUE(store.put(idOf(i), "s", 1000, 0));
  EXPECT_LE(store.size(), TlsSessionStore::kMaxSessions);
  EXPECT_GE(store.size(), TlsSessionStore::kMaxSessions * 9 / 10) << "shards fill about evenly";
  EXPECT_EQ(store.get(idOf(n - 1), 1), "s") << "the newest is kept";
  EXPECT_EQ(store.get(idOf(0), 1), "") << "the oldest went";
}

TEST(TlsSessionStore, BoundedInBytes) {
  TlsSessionStore store;
  const std::string big(TlsSessionStore::kMaxSessionBytes, 'x');
  for (int i = 0; i < 4000; ++i) ASSERT_TRUE(store.put(idOf(i), big, 1000, 0));
  EXPECT_LE(store.bytes(), TlsSessionStore::kMaxBytes);
  EXPECT_GE(store.bytes(), TlsSessionStore::kMaxBytes * 8 / 10);
  EXPECT_EQ(store.get(idOf(3999), 1), big);
}

TEST(TlsSessionStore, ExpiredAreDroppedBeforeLiveOnes) {
  TlsSessionStore store;
  const int full = static_cast<int>(TlsSessionStore::kMaxSessions);
  for (int i = 0; i < full; ++i) ASSERT_TRUE(store.put(idOf(i), "old", 10, 0));
  // Later sessions arrive after the first ones expired: every shard sheds its expired entries,
  // and none of the new ones (half the bound) is evicted.
  for (int i = full; i < full + full / 2; ++i) ASSERT_TRUE(store.put(idOf(i), "new", 100, 20));
  EXPECT_EQ(store.size(), static_cast<size_t>(full / 2));
  EXPECT_EQ(store.get(idOf(0), 20), "");
  for (int i = full; i < full + full / 2; ++i) ASSERT_EQ(store.get(idOf(i), 20), "new") << i;
}

TEST(TlsSessionStore, SharedStoreIsOneObject) {
  EXPECT_EQ(&sharedSessionStore(), &sharedSessionStore());
}

}  // namespace
}  // namespace sluice::proxy
