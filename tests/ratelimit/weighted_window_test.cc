#include "ratelimit/weighted_window.h"

#include <gtest/gtest.h>

namespace sluice::ratelimit {
namespace {

TEST(WeightedWindow, FirstWindowIsAPlainCounter) {
  WeightedWindow sw(4, 10 * kSecond);
  WeightedWindow::State s;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(sw.take(s, 10 * kSecond + i).allowed);
  EXPECT_FALSE(sw.take(s, 15 * kSecond).allowed);
}

TEST(WeightedWindow, PreviousWindowIsWeightedByItsOverlap) {
  WeightedWindow sw(4, 10 * kSecond);
  WeightedWindow::State s;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(sw.take(s, 10 * kSecond).allowed);
  // At 25 s the previous window (10..20 s, 4 requests) overlaps half: estimate 2, room for 2.
  EXPECT_TRUE(sw.take(s, 25 * kSecond).allowed);
  EXPECT_TRUE(sw.take(s, 25 * kSecond).allowed);
  Decision d = sw.take(s, 25 * kSecond);
  EXPECT_FALSE(d.allowed);
  // 4 * (10 - x) / 10 + 3 <= 4  <=>  x >= 7.5 s into the window: 2.5 s from now.
  EXPECT_EQ(d.retry_after, 2500 * 1'000'000LL);
  EXPECT_FALSE(sw.take(s, 27500 * 1'000'000LL - 1).allowed);
  EXPECT_TRUE(sw.take(s, 27500 * 1'000'000LL).allowed);
}

TEST(WeightedWindow, AWindowWithoutTrafficForgetsThePast) {
  WeightedWindow sw(2, kSecond);
  WeightedWindow::State s;
  ASSERT_TRUE(sw.take(s, kSecond).allowed);
  ASSERT_TRUE(sw.take(s, kSecond).allowed);
  ASSERT_FALSE(sw.take(s, kSecond).allowed);
  // Two windows later, the previous window is empty: a fresh limit.
  EXPECT_TRUE(sw.take(s, 3 * kSecond).allowed);
  EXPECT_TRUE(sw.take(s, 3 * kSecond).allowed);
  EXPECT_FALSE(sw.take(s, 3 * kSecond).allowed);
}

TEST(WeightedWindow, SmoothAtTheBoundaryUnlikeAFixedWindow) {
  WeightedWindow sw(2, kSecond);
  WeightedWindow::State s;
  int allowed = 0;
  for (int i = 0; i < 4; ++i) allowed += sw.take(s, 2 * kSecond - 1).allowed;
  for (int i = 0; i < 4; ++i) allowed += sw.take(s, 2 * kSecond).allowed;
  EXPECT_EQ(allowed, 2);  // the full previous window still counts at the boundary
}

TEST(WeightedWindow, RetryAfterPointsIntoTheNextWindowWhenThisOneIsFull) {
  WeightedWindow sw(2, kSecond);
  WeightedWindow::State s;
  sw.take(s, 0);
  sw.take(s, 0);
  Decision d = sw.take(s, 0);
  ASSERT_FALSE(d.allowed);
  // Next window: 2 * (1 - x) + 1 <= 2  <=>  x >= 0.5 s, so 1.5 s from now.
  EXPECT_EQ(d.retry_after, 1500 * 1'000'000LL);
  EXPECT_FALSE(sw.take(s, 1500 * 1'000'000LL - 1).allowed);
  EXPECT_TRUE(sw.take(s, 1500 * 1'000'000LL).allowed);
}

TEST(WeightedWindow, EvictionCostIsTheWeightedEstimate) {
  WeightedWindow sw(10, kSecond);
  WeightedWindow::State s;
  EXPECT_EQ(sw.evictionCost(s, 5 * kSecond), 0u);
  for (int i = 0; i < 4; ++i) sw.take(s, 5 * kSecond);
  EXPECT_EQ(sw.evictionCost(s, 5 * kSecond), 4u);
  EXPECT_EQ(sw.evictionCost(s, 6 * kSecond + kSecond / 2), 2u);  // half of the previous window
  EXPECT_EQ(sw.evictionCost(s, 7 * kSecond), 0u);
}

}  // namespace
}  // namespace sluice::ratelimit
