#include "ratelimit/fixed_window.h"

#include <gtest/gtest.h>

namespace sluice::ratelimit {
namespace {

TEST(FixedWindow, LimitPerWindowResetsAtTheEdge) {
  FixedWindow fw(3, 10 * kSecond);
  FixedWindow::State s;
  Nanos start = 20 * kSecond;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(fw.take(s, start + i).allowed);
  Decision d = fw.take(s, start + 5 * kSecond);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 5 * kSecond);
  EXPECT_FALSE(fw.take(s, start + 10 * kSecond - 1).allowed);  // last nanosecond of the window
  d = fw.take(s, start + 10 * kSecond);                        // first of the next
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2u);
  EXPECT_EQ(d.reset, 10 * kSecond);
}

TEST(FixedWindow, BurstAcrossTheBoundaryIsTwiceTheLimit) {
  // The known weakness of fixed windows, pinned down: limit at the end of one window and again
  // at the start of the next.
  FixedWindow fw(2, kSecond);
  FixedWindow::State s;
  int allowed = 0;
  for (int i = 0; i < 4; ++i) allowed += fw.take(s, 2 * kSecond - 1).allowed;
  for (int i = 0; i < 4; ++i) allowed += fw.take(s, 2 * kSecond).allowed;
  EXPECT_EQ(allowed, 4);
}

TEST(FixedWindow, ZeroLimitDeniesEverything) {
  FixedWindow fw(0, kSecond);
  FixedWindow::State s;
  EXPECT_FALSE(fw.take(s, 0).allowed);
}

TEST(FixedWindow, EvictionCostIsThisWindowsCount) {
  FixedWindow fw(5, kSecond);
  FixedWindow::State s;
  Nanos t = 10 * kSecond + 100;
  EXPECT_EQ(fw.evictionCost(s, t), 0u);
  fw.take(s, t);
  fw.take(s, t);
  EXPECT_EQ(fw.evictionCost(s, t), 2u);
  EXPECT_EQ(fw.evictionCost(s, 11 * kSecond), 0u);  // the next window starts from nothing
}

}  // namespace
}  // namespace sluice::ratelimit
