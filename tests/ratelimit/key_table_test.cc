#include "ratelimit/key_table.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ratelimit/limiter.h"
#include "ratelimit/token_bucket.h"

namespace sluice::ratelimit {
namespace {

struct Count {
  int n = 0;
};

TEST(KeyTable, NeverHoldsMoreThanMaxKeys) {
  KeyTable<Count> t(1000);
  for (int i = 0; i < 100000; ++i) t.with("k" + std::to_string(i), [](Count& c) { ++c.n; });
  EXPECT_LE(t.size(), 1000u);
  EXPECT_EQ(t.size() + t.evictions(), 100000u);
}

TEST(KeyTable, ARecentlyUsedKeySurvivesAFlood) {
  KeyTable<Count> t(256);
  for (int i = 0; i < 50000; ++i) {
    t.with("steady", [](Count& c) { ++c.n; });
    t.with("flood" + std::to_string(i), [](Count& c) { ++c.n; });
  }
  EXPECT_EQ(t.with("steady", [](Count& c) { return c.n; }), 50000);
}

struct Debt {
  uint64_t owed = 0;
};

TEST(KeyTable, AKeyInDebtSurvivesAFloodLargerThanTheTableBetweenItsUses) {
  // 4096 one-shot keys (the table four times over) arrive between two uses of "steady": plain
  // LRU forgets it every time; ranked by cost, the cheap one-shot keys go first.
  KeyTable<Debt> t(1024);
  auto cost = [](const Debt& d) { return d.owed; };
  int flood = 0;
  for (int i = 0; i < 200; ++i) {
    t.with(
        "steady", [](Debt& d) { d.owed += 10; }, cost);
    for (int j = 0; j < 4096; ++j) {
      t.with(
          "flood" + std::to_string(flood++), [](Debt& d) { d.owed = 1; }, cost);
    }
  }
  EXPECT_EQ(t.with(
                "steady", [](Debt& d) { return d.owed; }, cost),
            2000u);
  EXPECT_LE(t.size(), 1024u);
}

TEST(KeyTable, EvictsTheCheapestOfTheLeastRecentlyUsed) {
  KeyTable<Debt> t(2, /*max_shards=*/1);
  auto cost = [](const Debt& d) { return d.owed; };
  t.with(
      "old-expensive", [](Debt& d) { d.owed = 5; }, cost);
  t.with(
      "new-cheap", [](Debt& d) { d.owed = 0; }, cost);
  t.with(
      "third", [](Debt& d) { d.owed = 3; }, cost);  // evicts new-cheap, not the LRU key
  EXPECT_EQ(t.with(
                "old-expensive", [](Debt& d) { return d.owed; }, cost),
            5u);
  EXPECT_EQ(t.evictions(), 1u);
}

TEST(KeyTable, EvictedKeysStartAfresh) {
  KeyTable<Count> t(1);
  t.with("a", [](Count& c) { c.n = 5; });
  t.with("b", [](Count& c) { c.n = 7; });
  EXPECT_EQ(t.with("a", [](Count& c) { return c.n; }), 0);
  EXPECT_EQ(t.evictions(), 2u);
  EXPECT_EQ(t.size(), 1u);
}

TEST(KeyTable, ExactAcrossThreads) {
  // 4 threads hammer one key of a 100-token bucket at one instant: exactly 100 are allowed.
  auto limiter = makeLimiter(TokenBucket(1, kSecond, 100), 100);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 1000; ++j) allowed += limiter->take("k", kSecond).allowed;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 100);
}

// Bytes malloc has handed out now (heap and mmapped blocks); constant when the allocator does not
// report them (sanitizers).
size_t heapInUse() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

TEST(KeyTable, APolicyThatSawNoKeyCostsLittle) {
  // A large config has a limiter on thousands of routes that see no traffic: each used to hold
  // 64 locked shards (8 KiB) from the start. Shards now come with their first key.
  void* volatile probe = malloc(1 << 20);  // volatile: the compiler may not drop the pair
  size_t with_probe = heapInUse();
  free(probe);
  if (with_probe - heapInUse() < (1 << 20)) GTEST_SKIP() << "allocator does not report usage";
  constexpr int kPolicies = 200;
  std::vector<std::shared_ptr<Limiter>> limiters;
  limiters.reserve(kPolicies);
  size_t before = heapInUse();
  for (int i = 0; i < kPolicies; ++i) {
    limiters.push_back(makeLimiter(TokenBucket(100, kSecond, 100), 100000));
  }
  size_t per_policy = (heapInUse() - before) / kPolicies;
  EXPECT_LT(per_policy, 1024u);
}

TEST(KeyTable, ShardsAreAllocatedWithTheirFirstKey) {
  KeyTable<Count> t(100000);
  EXPECT_EQ(t.shardsInUse(), 0u);
  EXPECT_EQ(t.capacity(), 100000u);
  t.with("a", [](Count& c) { ++c.n; });
  EXPECT_EQ(t.shardsInUse(), 1u);
  for (int i = 0; i < 10000; ++i) t.with("k" + std::to_string(i), [](Count& c) { ++c.n; });
  EXPECT_EQ(t.shardsInUse(), static_cast<size_t>(KeyTable<Count>::kMaxShards));
  EXPECT_EQ(t.size(), 10001u);
}

TEST(KeyTable, ThreadsRacingForANewShardShareOne) {
  // 4 threads take the same 64 fresh keys at once: each shard is installed once, and every
  // key is counted in the one state all threads see.
  for (int round = 0; round < 20; ++round) {
    KeyTable<Count> t(1000);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        for (int k = 0; k < 64; ++k) t.with("key" + std::to_string(k), [](Count& c) { ++c.n; });
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(t.size(), 64u);
    for (int k = 0; k < 64; ++k) {
      ASSERT_EQ(t.with("key" + std::to_string(k), [](Count& c) { return c.n; }), 4);
    }
  }
}

}  // namespace
}  // namespace sluice::ratelimit
