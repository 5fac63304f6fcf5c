#include "balancer/consistent_hash.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/balancer/balancer_test_util.h"

namespace sluice::balancer {
namespace {

using testing::Pool;

constexpr int kKeys = 100'000;

// The address each of 100k keys maps to (addresses, not indexes, so lists can differ).
std::vector<std::string> mapping(const std::vector<std::string>& addresses) {
  std::vector<TargetWeight> t;
  for (const std::string& a : addresses) t.push_back(TargetWeight{100, nullptr, hashKey(a)});
  ConsistentHash ring(t, std::nullopt);
  std::vector<std::string> out;
  out.reserve(kKeys);
  for (int k = 0; k < kKeys; ++k) {
    int i = ring.pick(PickRequest{.hash = hashKey("user-" + std::to_string(k))});
    out.push_back(i < 0 ? "" : addresses[static_cast<size_t>(i)]);
  }
  return out;
}

double moved(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  int n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return static_cast<double>(n) / static_cast<double>(a.size());
}

std::vector<std::string> addresses(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(Pool::address(static_cast<size_t>(i)));
  return out;
}

TEST(ConsistentHash, SameKeySameTarget) {
  Pool pool(5);
  ConsistentHash ring(pool.targets({1, 1, 1, 1, 1}), std::nullopt);
  for (int k = 0; k < 100; ++k) {
    uint64_t h = hashKey("k" + std::to_string(k));
    int first = ring.pick(PickRequest{.hash = h});
    for (int r = 0; r < 3; ++r) EXPECT_EQ(ring.pick(PickRequest{.hash = h}), first);
  }
}

TEST(ConsistentHash, RemovingOneOfTenRemapsAtMostTwelvePercent) {
  std::vector<std::string> ten = addresses(10);
  std::vector<std::string> nine = ten;
  nine.erase(nine.begin() + 4);  // from the middle: indexes shift, ids do not
  std::vector<std::string> before = mapping(ten), after = mapping(nine);
  double m = moved(before, after);
  EXPECT_LE(m, 0.12);
  EXPECT_GE(m, 0.05);  // the removed target's keys had to move
  // Only keys of the removed target moved.
  for (size_t k = 0; k < before.size(); ++k) {
    if (before[k] != ten[4]) {
      ASSERT_EQ(before[k], after[k]) << k;
    }
  }
}

TEST(ConsistentHash, AddingOneToTenMovesAtMostTwelvePercent) {
  std::vector<std::string> ten = addresses(10);
  std::vector<std::string> eleven = addresses(11);
  std::vector<std::string> before = mapping(ten), after = mapping(eleven);
  double m = moved(before, after);
  EXPECT_LE(m, 0.12);
  EXPECT_GE(m, 0.05);
  for (size_t k = 0; k < after.size(); ++k) {  // every moved key went to the new target
    if (before[k] != after[k]) {
      ASSERT_EQ(after[k], eleven[10]) << k;
    }
  }
}

TEST(ConsistentHash, ReorderingTargetsMovesNothing) {
  std::vector<std::string> a = addresses(6);
  std::vector<std::string> b(a.rbegin(), a.rend());
  EXPECT_EQ(moved(mapping(a), mapping(b)), 0.0);
}

TEST(ConsistentHash, UnavailableTargetKeysGoToTheNextOnTheRing) {
  Pool pool(4);
  ConsistentHash all(pool.targets({1, 1, 1, 1}), std::nullopt);
  ConsistentHash without2(pool.targets({1, 1, 0, 1}), std::nullopt);
  for (int k = 0; k < 5000; ++k) {
    uint64_t h = hashKey(std::to_string(k));
    int a = all.pick(PickRequest{.hash = h});
    int b = without2.pick(PickRequest{.hash = h});
    ASSERT_NE(b, 2);
    if (a != 2) {
      ASSERT_EQ(a, b);
    }
    // A retry excluding the first choice: same as a ring without it.
    if (a == 2) continue;
    int retry = all.pick(PickRequest{.hash = h, .exclude_mask = uint64_t{1} << a});
    ASSERT_NE(retry, a);
  }
}

// Google's bounded loads: with requests that never finish, after every pick each target holds at
// most ceil(factor x total x weight / total weight) -- even when half the keys are one hot key.
void checkBounded(const std::vector<uint32_t>& ws, double factor) {
  Pool pool(ws.size());
  ConsistentHash ring(pool.targets(ws), factor);
  double total_w = 0;
  for (uint32_t w : ws) total_w += w;
  for (int k = 1; k <= 20'000; ++k) {
    std::string key = k % 2 == 0 ? "hot" : "key-" + std::to_string(k);
    int t = ring.pick(PickRequest{.hash = hashKey(key)});
    ASSERT_GE(t, 0);
    pool.states[static_cast<size_t>(t)]->onRequestStart();
    const double total = static_cast<double>(pool.upstream->active());
    ASSERT_EQ(total, k);
    for (size_t i = 0; i < ws.size(); ++i) {
      double bound = std::ceil(factor * total * ws[i] / total_w);
      ASSERT_LE(pool.states[i]->active(), bound) << "target " << i << " after " << k;
    }
  }
  // The hot key overflowed: more than one target took it, yet its own stays at the bound.
  int max_active = 0;
  for (auto& s : pool.states) max_active = std::max<int>(max_active, static_cast<int>(s->active()));
  EXPECT_LE(max_active, std::ceil(factor * 20'000 * 4 / total_w) + 1);
}

TEST(ConsistentHash, BoundedLoadsKeepEveryTargetUnderFactorTimesMean) {
  checkBounded({1, 1, 1, 1, 1, 1, 1, 1}, 1.25);
}

TEST(ConsistentHash, BoundedLoadsWithWeights) {
  checkBounded({1, 2, 1, 4}, 1.5);
}

TEST(ConsistentHash, BoundedLoadsKeepAffinityWhenUnderTheBound) {
  Pool pool(4);
  ConsistentHash bounded(pool.targets({1, 1, 1, 1}), 1.25);
  ConsistentHash plain(pool.targets({1, 1, 1, 1}), std::nullopt);
  pool.setActive(0, 5);
  pool.setActive(1, 5);
  pool.setActive(2, 5);
  pool.setActive(3, 5);  // mean 5: bound ceil(1.25 x 21 / 4) = 7 > 5, nobody full
  for (int k = 0; k < 1000; ++k) {
    uint64_t h = hashKey(std::to_string(k));
    ASSERT_EQ(bounded.pick(PickRequest{.hash = h}), plain.pick(PickRequest{.hash = h}));
  }
  pool.setActive(1, 7);  // now target 1 is at its bound (ceil(1.25 x 23 / 4) = 8 > 7: still ok)
  pool.setActive(1, 9);  // ceil(1.25 x 25 / 4) = 8 <= 9: full, its keys walk on
  int walked = 0;
  for (int k = 0; k < 1000; ++k) {
    uint64_t h = hashKey(std::to_string(k));
    int p = plain.pick(PickRequest{.hash = h});
    int b = bounded.pick(PickRequest{.hash = h});
    ASSERT_NE(b, 1);
    if (p == 1) {
      ++walked;
    } else {
      ASSERT_EQ(b, p);
    }
  }
  EXPECT_GT(walked, 100);
}

TEST(ConsistentHash, LargeRingIsCapped) {
  std::vector<uint32_t> ws(1000, 100);
  Pool pool(ws.size());
  ConsistentHash ring(pool.targets(ws), 1.25);
  std::vector<int> counts = testing::shares(ring, ws.size(), 100'000);
  int lo = *std::min_element(counts.begin(), counts.end());
  int hi = *std::max_element(counts.begin(), counts.end());
  EXPECT_GT(lo, 30);   // mean 100 per target; no target starved
  EXPECT_LT(hi, 200);  // and none doubled
}

}  // namespace
}  // namespace sluice::balancer
