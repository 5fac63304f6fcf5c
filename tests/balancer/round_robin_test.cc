#include "balancer/round_robin.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "balancer/registry.h"

namespace sluice::balancer {
namespace {

std::vector<TargetWeight> weights(std::initializer_list<uint32_t> ws) {
  std::vector<TargetWeight> out;
  for (uint32_t w : ws) out.push_back(TargetWeight{w});
  return out;
}

// The picks as letters ("a" = target 0), `exclude` applied to every pick.
std::string sequence(Balancer& b, int n, uint64_t exclude = 0) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    int t = b.pick(PickRequest{.hash = 0, .exclude_mask = exclude});
    out.push_back(t < 0 ? '-' : static_cast<char>('a' + t));
  }
  return out;
}

std::vector<int> shares(Balancer& b, size_t targets, int n) {
  std::vector<int> counts(targets, 0);
  for (int i = 0; i < n; ++i) {
    int t = b.pick(PickRequest{});
    EXPECT_GE(t, 0);
    EXPECT_LT(t, static_cast<int>(targets));
    if (t >= 0 && t < static_cast<int>(targets)) ++counts[static_cast<size_t>(t)];
  }
  return counts;
}

TEST(RoundRobin, EqualWeightsRotate) {
  RoundRobin rr(weights({1, 1, 1}));
  EXPECT_EQ(sequence(rr, 9), "abcabcabc");
}

TEST(RoundRobin, WeightsOneThreeFollowNginxSmoothOrder) {
  RoundRobin rr(weights({1, 3}));
  EXPECT_EQ(sequence(rr, 12), "babbbabbbabb");
}

TEST(RoundRobin, WeightsFiveOneOneInterleaveWithoutBurst) {
  RoundRobin rr(weights({5, 1, 1}));
  EXPECT_EQ(sequence(rr, 7), "aabacaa");
  EXPECT_EQ(sequence(rr, 14), "aabacaaaabacaa");  // the cycle repeats exactly
}

TEST(RoundRobin, SharesAreExactOverWholeCycles) {
  RoundRobin one_three(weights({1, 3}));
  EXPECT_EQ(shares(one_three, 2, 1000), (std::vector<int>{250, 750}));

  RoundRobin mixed(weights({2, 3, 5}));
  EXPECT_EQ(shares(mixed, 3, 1000), (std::vector<int>{200, 300, 500}));

  RoundRobin heavy(weights({1, 99}));
  EXPECT_EQ(shares(heavy, 2, 1000), (std::vector<int>{10, 990}));
}

TEST(RoundRobin, EveryPrefixStaysWithinOnePickOfTheIdealShare) {
  // The "smooth" property: no target is ever ahead of or behind its weighted share by a whole
  // pick, whatever the prefix (a bursty WRR would fail this on {5,1,1}).
  const std::vector<uint32_t> w = {5, 1, 1, 3};
  const double total = 10;
  RoundRobin rr(weights({5, 1, 1, 3}));
  std::vector<int> counts(w.size(), 0);
  for (int n = 1; n <= 200; ++n) {
    int t = rr.pick(PickRequest{});
    ASSERT_GE(t, 0);
    ++counts[static_cast<size_t>(t)];
    for (size_t i = 0; i < w.size(); ++i) {
      double ideal = n * w[i] / total;
      EXPECT_LT(std::abs(counts[i] - ideal), 1.0) << "target " << i << " after " << n;
    }
  }
}

TEST(RoundRobin, ExcludeMaskSkipsTargets) {
  RoundRobin rr(weights({1, 1, 1}));
  EXPECT_EQ(sequence(rr, 6, /*exclude=*/0b010), "acacac");
  RoundRobin rr2(weights({1, 1, 1}));
  EXPECT_EQ(sequence(rr2, 4, /*exclude=*/0b011), "cccc");
}

TEST(RoundRobin, ExcludeOnlyTheRetriedTarget) {
  // A retry excludes the target that failed; the next pick is another target.
  RoundRobin rr(weights({1, 1}));
  int first = rr.pick(PickRequest{});
  ASSERT_GE(first, 0);
  int retry = rr.pick(PickRequest{.hash = 0, .exclude_mask = uint64_t{1} << first});
  EXPECT_GE(retry, 0);
  EXPECT_NE(retry, first);
}

TEST(RoundRobin, AllExcludedReturnsMinusOne) {
  RoundRobin three(weights({1, 2, 3}));
  EXPECT_EQ(sequence(three, 3, 0b111), "---");
  EXPECT_EQ(sequence(three, 6), "cbacbc");  // excluded picks left the state alone

  RoundRobin one(weights({4}));
  EXPECT_EQ(one.pick(PickRequest{.hash = 0, .exclude_mask = 1}), -1);
  EXPECT_EQ(one.pick(PickRequest{.hash = 0, .exclude_mask = 0b10}), 0);  // other bits ignored
  EXPECT_EQ(one.pick(PickRequest{}), 0);
}

TEST(RoundRobin, EmptyTargetListReturnsMinusOne) {
  RoundRobin rr(std::vector<TargetWeight>{});
  EXPECT_EQ(rr.pick(PickRequest{}), -1);
}

TEST(BalancerRegistry, MakesRoundRobin) {
  EXPECT_TRUE(isRegisteredBalancer("round_robin"));
  std::unique_ptr<Balancer> b = makeBalancer("round_robin", weights({5, 1, 1}));
  ASSERT_NE(b, nullptr);
  EXPECT_NE(dynamic_cast<RoundRobin*>(b.get()), nullptr);
  EXPECT_EQ(sequence(*b, 7), "aabacaa");
}

TEST(BalancerRegistry, UnknownNameGivesNull) {
  EXPECT_FALSE(isRegisteredBalancer("no_such_balancer"));
  EXPECT_FALSE(isRegisteredBalancer("Round_Robin"));
  EXPECT_FALSE(isRegisteredBalancer(""));
  EXPECT_EQ(makeBalancer("no_such_balancer", weights({1})), nullptr);
  EXPECT_EQ(makeBalancer("round-robin", weights({1})), nullptr);
}

}  // namespace
}  // namespace sluice::balancer
