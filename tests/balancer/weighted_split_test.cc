#include "balancer/weighted_split.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "balancer/hash.h"

namespace sluice::balancer {
namespace {

constexpr int kKeys = 100'000;

// The side name each of 100k keys goes to under `sides`.
std::vector<std::string> mapping(std::vector<WeightedSplit::Side> sides) {
  WeightedSplit split(std::move(sides));
  std::vector<std::string> out;
  out.reserve(kKeys);
  for (int k = 0; k < kKeys; ++k) {
    size_t i = split.pickSticky(hashKey("session-" + std::to_string(k)));
    out.push_back(split.side(i).name);
  }
  return out;
}

double share(const std::vector<std::string>& m, const std::string& name) {
  int n = 0;
  for (const auto& s : m) n += s == name;
  return static_cast<double>(n) / static_cast<double>(m.size());
}

TEST(WeightedSplit, StickyKeysFollowTheWeights) {
  auto m = mapping({{"v1", 90}, {"v2", 10}});
  EXPECT_NEAR(share(m, "v1"), 0.90, 0.01);
  EXPECT_NEAR(share(m, "v2"), 0.10, 0.01);
  auto m3 = mapping({{"a", 50}, {"b", 30}, {"c", 20}});
  EXPECT_NEAR(share(m3, "a"), 0.50, 0.01);
  EXPECT_NEAR(share(m3, "b"), 0.30, 0.01);
  EXPECT_NEAR(share(m3, "c"), 0.20, 0.01);
  auto even = mapping({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}});
  for (const char* n : {"a", "b", "c", "d"}) EXPECT_NEAR(share(even, n), 0.25, 0.01) << n;
}

TEST(WeightedSplit, StickyIsStable) {
  WeightedSplit a({{"v1", 90}, {"v2", 10}});
  WeightedSplit b({{"v1", 90}, {"v2", 10}});
  for (int k = 0; k < 1000; ++k) {
    uint64_t h = hashKey("k" + std::to_string(k));
    EXPECT_EQ(a.pickSticky(h), b.pickSticky(h));
  }
}

TEST(WeightedSplit, OrderOfSidesDoesNotMatter) {
  auto ab = mapping({{"v1", 70}, {"v2", 30}});
  auto ba = mapping({{"v2", 30}, {"v1", 70}});
  EXPECT_EQ(ab, ba);
}

TEST(WeightedSplit, WeightChangeMovesOnlyTheShareItMust) {
  auto before = mapping({{"v1", 90}, {"v2", 10}});
  auto after = mapping({{"v1", 80}, {"v2", 20}});
  int moved = 0, moved_to_v1 = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i] == after[i]) continue;
    ++moved;
    moved_to_v1 += after[i] == "v1";
  }
  double moved_share = static_cast<double>(moved) / kKeys;
  EXPECT_GT(moved_share, 0.09);
  EXPECT_LT(moved_share, 0.11);  // the minimum is 10%; a modulo split would move far more
  EXPECT_EQ(moved_to_v1, 0);     // only v2 grew: no key leaves v2
}

TEST(WeightedSplit, AddingASideMovesKeysOnlyToIt) {
  auto two = mapping({{"v1", 50}, {"v2", 50}});
  auto three = mapping({{"v1", 50}, {"v2", 50}, {"v3", 25}});
  int moved = 0;
  for (size_t i = 0; i < two.size(); ++i) {
    if (two[i] == three[i]) continue;
    ++moved;
    EXPECT_EQ(three[i], "v3") << "key " << i << " moved from " << two[i] << " to " << three[i];
  }
  EXPECT_NEAR(static_cast<double>(moved) / kKeys, 0.20, 0.01);  // 25 of 125
  // Removing it again gives every key back its old side.
  EXPECT_EQ(mapping({{"v1", 50}, {"v2", 50}}), two);
}

TEST(WeightedSplit, RemovingASideMovesOnlyItsKeys) {
  auto three = mapping({{"a", 1}, {"b", 1}, {"c", 1}});
  auto two = mapping({{"a", 1}, {"c", 1}});
  for (size_t i = 0; i < three.size(); ++i) {
    if (three[i] != "b") {
      EXPECT_EQ(two[i], three[i]) << "key " << i;
    }
  }
}

TEST(WeightedSplit, ZeroWeightGetsNothing) {
  auto m = mapping({{"v1", 100}, {"dark", 0}});
  EXPECT_EQ(share(m, "dark"), 0.0);
  WeightedSplit s({{"dark", 0}, {"v1", 1}});
  SplitMix64 rng(7);
  for (int i = 0; i < 10'000; ++i) EXPECT_EQ(s.pickRandom(rng.next()), 1u);
}

TEST(WeightedSplit, RandomFollowsTheWeights) {
  WeightedSplit s({{"v1", 90}, {"v2", 10}});
  SplitMix64 rng(42);
  int v2 = 0;
  for (int i = 0; i < kKeys; ++i) v2 += s.pickRandom(rng.next()) == 1;
  EXPECT_NEAR(static_cast<double>(v2) / kKeys, 0.10, 0.005);
}

TEST(WeightedSplit, RandomEdgesOfTheRange) {
  WeightedSplit s({{"a", 1}, {"b", 2}, {"c", 1}});
  EXPECT_EQ(s.pickRandom(0), 0u);
  EXPECT_EQ(s.pickRandom(~uint64_t{0}), 2u);
  EXPECT_EQ(s.pickRandom(uint64_t{1} << 62), 1u);        // 1/4 of the range: into b
  EXPECT_EQ(s.pickRandom((uint64_t{3} << 62) - 1), 1u);  // just under 3/4: still b
  EXPECT_EQ(s.pickRandom(uint64_t{3} << 62), 2u);
}

TEST(WeightedSplit, NoWeightAtAllAnswersSideZero) {
  WeightedSplit s({{"a", 0}, {"b", 0}});
  EXPECT_EQ(s.pickRandom(12345), 0u);
  EXPECT_EQ(s.pickSticky(hashKey("x")), 0u);
}

}  // namespace
}  // namespace sluice::balancer
