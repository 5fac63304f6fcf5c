#include "ratelimit/sliding_ring.h"

#include <gtest/gtest.h>

namespace sluice::ratelimit {
namespace {

constexpr Nanos kMs = 1'000'000;

TEST(SlidingRing, SubWindowIsAHundredthOfTheWindowRoundedUp) {
  EXPECT_EQ(SlidingRing(1000, kSecond).subWindow(), 10 * kMs);
  EXPECT_EQ(SlidingRing(1000, 101).subWindow(), 2);
}

TEST(SlidingRing, NoBurstAtAnyPhaseOfTheWindow) {
  // A burst just before and just after every kind of boundary: sub-window, window, and halfway.
  const Nanos g = 10 * kMs;
  for (Nanos edge : {Nanos{0}, g / 2, g - 1, 3 * g + 1, 50 * g, 99 * g + g / 2}) {
    SlidingRing ring(200, kSecond);
    SlidingRing::State s;
    Nanos t0 = 40 * kSecond + edge;
    int allowed = 0;
    for (int i = 0; i < 300; ++i) allowed += ring.take(s, t0 - 1).allowed;
    for (int i = 0; i < 300; ++i) allowed += ring.take(s, t0).allowed;
    for (int i = 0; i < 300; ++i) allowed += ring.take(s, t0 + kSecond - 2).allowed;
    EXPECT_EQ(allowed, 200) << edge;
  }
}

TEST(SlidingRing, TheOldestSubWindowCountsWholeUntilItLeaves) {
  const Nanos g = 10 * kMs;
  SlidingRing ring(200, kSecond);
  SlidingRing::State s;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(ring.take(s, 10 * kSecond + 5 * kMs).allowed);
  // At 11 s + 5 ms those admissions are exactly one window old, but their sub-window
  // [10 s, 10 s + g) is still counted until 11 s + g: refused, retry then.
  Decision d = ring.take(s, 11 * kSecond + 5 * kMs);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, g - 5 * kMs);
  EXPECT_FALSE(ring.take(s, 11 * kSecond + g - 1).allowed);
  Decision ok = ring.take(s, 11 * kSecond + g);
  EXPECT_TRUE(ok.allowed);
  EXPECT_EQ(ok.remaining, 199u);
}

TEST(SlidingRing, RetryAfterSkipsToTheSubWindowThatFreesEnough) {
  const Nanos g = 10 * kMs;
  SlidingRing ring(200, kSecond);
  SlidingRing::State s;
  for (int i = 0; i < 100; ++i) ring.take(s, 20 * kSecond);           // sub-window 2000
  for (int i = 0; i < 100; ++i) ring.take(s, 20 * kSecond + 30 * g);  // sub-window 2030
  Decision d = ring.take(s, 20 * kSecond + 60 * g);
  ASSERT_FALSE(d.allowed);
  // The first 100 are counted through sub-window 2100 (21 s + 0 g ... g): free at 21 s + g.
  EXPECT_EQ(d.retry_after, kSecond + g - 60 * g);
  EXPECT_TRUE(ring.take(s, 21 * kSecond + g).allowed);
}

TEST(SlidingRing, ALongPauseForgetsEverything) {
  SlidingRing ring(150, kSecond);
  SlidingRing::State s;
  for (int i = 0; i < 150; ++i) ring.take(s, kSecond);
  EXPECT_FALSE(ring.take(s, kSecond).allowed);
  EXPECT_EQ(ring.evictionCost(s, kSecond), 150u);
  EXPECT_EQ(ring.evictionCost(s, 5 * kSecond), 0u);
  EXPECT_EQ(ring.take(s, 5 * kSecond).remaining, 149u);
  EXPECT_EQ(s.total, 1u);
}

TEST(SlidingRing, ALateClockCountsInTheNewestSubWindow) {
  SlidingRing ring(129, kSecond);
  SlidingRing::State s;
  ring.take(s, 3 * kSecond);
  ring.take(s, 3 * kSecond - 50 * kMs);  // another worker's older `now`
  EXPECT_EQ(s.total, 2u);
  EXPECT_EQ(s.counts[(3 * kSecond / (10 * kMs)) % (kSlidingRingBuckets + 1)], 2u);
}

TEST(SlidingRing, EvictionCostDropsSubWindowsAsTheyLeave) {
  const Nanos g = 10 * kMs;
  SlidingRing ring(1000, kSecond);
  SlidingRing::State s;
  EXPECT_EQ(ring.evictionCost(s, 0), 0u);
  ring.take(s, 10 * kSecond);
  ring.take(s, 10 * kSecond + 50 * g);
  EXPECT_EQ(ring.evictionCost(s, 10 * kSecond + 60 * g), 2u);
  EXPECT_EQ(ring.evictionCost(s, 11 * kSecond + g), 1u);
  EXPECT_EQ(ring.evictionCost(s, 11 * kSecond + 51 * g), 0u);
}

}  // namespace
}  // namespace sluice::ratelimit
