// The sliding_window limiter as the filter builds it: a brute-force check that no trailing window
// of any phase ever holds more than `limit` admissions (exact modes), that refusals are justified,
// and that `precision: approximate` is the weighted counter that may exceed it.
#include "ratelimit/sliding_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "ratelimit/sliding_log.h"
#include "ratelimit/sliding_ring.h"

namespace sluice::ratelimit {
namespace {

constexpr Nanos kMs = 1'000'000;

// Most admissions in any (t - window, t]; `times` sorted.
uint64_t busiestWindow(const std::vector<Nanos>& times, Nanos window) {
  uint64_t best = 0;
  size_t j = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    while (times[j] <= times[i] - window) ++j;
    best = std::max<uint64_t>(best, i - j + 1);
  }
  return best;
}

// Admissions in (t - span, t].
uint64_t countIn(const std::vector<Nanos>& times, Nanos t, Nanos span) {
  return static_cast<uint64_t>(std::upper_bound(times.begin(), times.end(), t) -
                               std::upper_bound(times.begin(), times.end(), t - span));
}

struct Outcome {
  std::vector<Nanos> admitted;
  std::vector<Nanos> refused;
};

// Random arrivals at about `load` times the limit rate, in bursts and lulls, for 6 windows.
Outcome offer(Limiter& l, uint64_t limit, Nanos window, Nanos start, double load, uint32_t seed) {
  std::mt19937_64 rng(seed);
  Outcome r;
  Nanos now = start;
  Nanos end = start + 6 * window;
  double mean_gap = static_cast<double>(window) / (static_cast<double>(limit) * load);
  std::exponential_distribution<double> gap(1.0 / mean_gap);
  std::uniform_int_distribution<int> burst(1, 8);
  while (now < end) {
    int n = burst(rng) == 8 ? burst(rng) * 4 : 1;  // now and then several at one instant
    for (int i = 0; i < n; ++i) {
      Decision d = l.take("k", now);
      (d.allowed ? r.admitted : r.refused).push_back(now);
    }
    now += 1 + static_cast<Nanos>(gap(rng) * n);
  }
  return r;
}

TEST(SlidingWindow, ChoosesTheLogForSmallLimitsAndTheRingAbove) {
  EXPECT_EQ(slidingAlgoFor(1, false), SlidingAlgo::Log);
  EXPECT_EQ(slidingAlgoFor(kSlidingLogMaxLimit, false), SlidingAlgo::Log);
  EXPECT_EQ(slidingAlgoFor(kSlidingLogMaxLimit + 1, false), SlidingAlgo::Ring);
  EXPECT_EQ(slidingAlgoFor(5, true), SlidingAlgo::Weighted);
}

TEST(SlidingWindow, BruteForceNoTrailingWindowExceedsTheLimit) {
  const uint64_t limits[] = {1, 3, 20, 100, 128, 129, 300, 1000};
  const Nanos windows[] = {kSecond, 4 * kSecond, 10 * kSecond + 7};
  uint32_t seed = 1;
  for (uint64_t limit : limits) {
    for (Nanos window : windows) {
      for (double load : {0.9, 2.0, 5.0}) {
        // Start at several phases of the window (and of its sub-windows).
        for (Nanos phase : {Nanos{0}, window / 3, window - 1, window / 100 + 1}) {
          auto l = makeSlidingWindow(limit, window, false, 16);
          Outcome r = offer(*l, limit, window, 1000 * kSecond + phase, load, seed++);
          ASSERT_LE(busiestWindow(r.admitted, window), limit)
              << "limit " << limit << " window " << window << " load " << load;
          // Refusals are justified: the log refuses only with `limit` in the trailing window,
          // the ring only with `limit` in the trailing window plus one sub-window.
          Nanos span = limit <= kSlidingLogMaxLimit
                           ? window
                           : window + SlidingRing(limit, window).subWindow();
          for (Nanos t : r.refused) {
            ASSERT_GE(countIn(r.admitted, t, span), limit) << "refused at " << t;
          }
          if (load > 1.5) {
            ASSERT_EQ(busiestWindow(r.admitted, window), limit);
          }
        }
      }
    }
  }
}

TEST(SlidingWindow, UnderAdmissionOfTheRingIsAtMostOnePercent) {
  // Offered far above the limit, evenly: the ring admits at least limit per 1.01 windows.
  const uint64_t limit = 1000;
  const Nanos window = 10 * kSecond;
  auto l = makeSlidingWindow(limit, window, false, 4);
  uint64_t admitted = 0;
  const Nanos step = kMs;  // 1000/s offered, 100/s allowed
  for (Nanos t = 0; t < 20 * window; t += step) admitted += l->take("k", 5 * kSecond + t).allowed;
  EXPECT_LE(admitted, 20 * limit);
  EXPECT_GE(static_cast<double>(admitted), 20.0 * limit / 1.01 - 1);
}

TEST(SlidingWindow, ApproximateIsTheWeightedCounterAndMayOverAdmit) {
  // 20 at the very end of one aligned window, then the weighted counter credits the next window
  // with most of them gone: more than `limit` in one trailing window.
  auto l = makeSlidingWindow(20, 2 * kSecond, true, 4);
  std::vector<Nanos> admitted;
  for (Nanos t = 4 * kSecond - 100 * kMs; t < 6 * kSecond; t += 25 * kMs) {
    if (l->take("k", t).allowed) admitted.push_back(t);
  }
  EXPECT_GT(busiestWindow(admitted, 2 * kSecond), 20u);
  auto exact = makeSlidingWindow(20, 2 * kSecond, false, 4);
  admitted.clear();
  for (Nanos t = 4 * kSecond - 100 * kMs; t < 6 * kSecond; t += 25 * kMs) {
    if (exact->take("k", t).allowed) admitted.push_back(t);
  }
  EXPECT_EQ(busiestWindow(admitted, 2 * kSecond), 20u);
}

}  // namespace
}  // namespace sluice::ratelimit
