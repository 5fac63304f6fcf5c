#include "ratelimit/sliding_log.h"

#include <gtest/gtest.h>

namespace sluice::ratelimit {
namespace {

constexpr Nanos kMs = 1'000'000;

TEST(SlidingLog, AdmitsLimitThenRefusesUntilTheOldestLeaves) {
  SlidingLog log(3, 10 * kSecond);
  SlidingLog::State s;
  EXPECT_EQ(log.take(s, 100 * kSecond).remaining, 2u);
  EXPECT_EQ(log.take(s, 102 * kSecond).remaining, 1u);
  Decision third = log.take(s, 104 * kSecond);
  EXPECT_TRUE(third.allowed);
  EXPECT_EQ(third.remaining, 0u);
  EXPECT_EQ(third.reset, 10 * kSecond);
  Decision d = log.take(s, 105 * kSecond);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 5 * kSecond);  // the admission of 100 s leaves at 110 s
  EXPECT_EQ(d.reset, 9 * kSecond);        // the last one leaves at 114 s
  EXPECT_FALSE(log.take(s, 110 * kSecond - 1).allowed);
  EXPECT_TRUE(log.take(s, 110 * kSecond).allowed);
  // The refusals did not count: the next slot opens when the 102 s admission leaves.
  Decision e = log.take(s, 110 * kSecond);
  EXPECT_FALSE(e.allowed);
  EXPECT_EQ(e.retry_after, 2 * kSecond);
}

TEST(SlidingLog, NoBurstAtAnyPhaseOfTheWindow) {
  // Whatever the offset of the first request, a burst at the end of one window and at the start
  // of the next is held to the limit (a fixed or weighted window admits up to twice it).
  for (Nanos phase = 0; phase < kSecond; phase += 125 * kMs) {
    SlidingLog log(5, kSecond);
    SlidingLog::State s;
    int allowed = 0;
    for (int i = 0; i < 10; ++i) allowed += log.take(s, 7 * kSecond + phase - 1).allowed;
    for (int i = 0; i < 10; ++i) allowed += log.take(s, 7 * kSecond + phase).allowed;
    for (int i = 0; i < 10; ++i) allowed += log.take(s, 8 * kSecond + phase - 2).allowed;
    EXPECT_EQ(allowed, 5) << phase;
    EXPECT_TRUE(log.take(s, 8 * kSecond + phase - 1).allowed) << phase;
  }
}

TEST(SlidingLog, ALateClockCountsAsTheNewestAdmission) {
  SlidingLog log(2, kSecond);
  SlidingLog::State s;
  ASSERT_TRUE(log.take(s, 5 * kSecond).allowed);
  ASSERT_TRUE(log.take(s, 5 * kSecond - 10 * kMs).allowed);  // another worker's older `now`
  Decision d = log.take(s, 6 * kSecond - 5 * kMs);
  EXPECT_FALSE(d.allowed);  // both still count: the late one was logged at 5 s
  EXPECT_EQ(d.retry_after, 5 * kMs);
}

TEST(SlidingLog, MemoryGrowsOnlyWithAdmissionsAndStaysWithinLimit) {
  SlidingLog log(kSlidingLogMaxLimit, kSecond);
  SlidingLog::State s;
  log.take(s, 0);
  EXPECT_LE(s.times.capacity(), 4u);
  for (int i = 0; i < 1000; ++i) log.take(s, i * kMs);
  EXPECT_EQ(s.times.size(), kSlidingLogMaxLimit);
  EXPECT_LE(s.times.capacity(), kSlidingLogMaxLimit);
}

TEST(SlidingLog, EvictionCostIsWhatIsStillInTheWindow) {
  SlidingLog log(10, kSecond);
  SlidingLog::State s;
  EXPECT_EQ(log.evictionCost(s, 0), 0u);
  log.take(s, kSecond);
  log.take(s, kSecond + 500 * kMs);
  EXPECT_EQ(log.evictionCost(s, kSecond + 600 * kMs), 2u);
  EXPECT_EQ(log.evictionCost(s, 2 * kSecond), 1u);
  EXPECT_EQ(log.evictionCost(s, 2 * kSecond + 500 * kMs), 0u);
}

}  // namespace
}  // namespace sluice::ratelimit
