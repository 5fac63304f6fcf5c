// The ring of 5-second slots behind the status page's rolling windows, driven by an injected
// clock: slot rollover, periods with no traffic, recycled slots, percentiles from buckets.
#include "proxy/runtime/rolling_window.h"

#include <gtest/gtest.h>

#include <thread>

namespace sluice::proxy {
namespace {

using Slots = std::array<WindowCounts, kWindowSlots>;

Slots collect(const RollingWindow& w, int64_t now_ms) {
  Slots s{};
  w.collect(now_ms, s);
  return s;
}

uint64_t total(const Slots& s, int n = kWindowSlots) {
  uint64_t t = 0;
  for (int k = 0; k < n; ++k) t += s[static_cast<size_t>(k)].requests;
  return t;
}

TEST(LatencyBucket, TwoBucketsPerPowerOfTwo) {
  EXPECT_EQ(latencyBucket(0), 0);
  EXPECT_EQ(latencyBucket(47), 0);
  EXPECT_EQ(latencyBucket(48), 1);
  EXPECT_EQ(latencyBucket(63), 1);
  EXPECT_EQ(latencyBucket(64), 2);
  EXPECT_EQ(latencyBucket(95), 2);
  EXPECT_EQ(latencyBucket(96), 3);
  EXPECT_EQ(latencyBucket(1000), 9);  // [768, 1024)
  EXPECT_EQ(latencyBucket(uint64_t{1} << 40), kLatencyBuckets - 1);
  for (int b = 1; b < kLatencyBuckets; ++b) {
    uint64_t lo = static_cast<uint64_t>(latencyBucketLower(b));
    EXPECT_EQ(latencyBucket(lo), b) << b;
    EXPECT_EQ(latencyBucket(lo - 1), b - 1) << b;
  }
}

TEST(RollingWindow, CountsStatusClassesInTheCurrentSlot) {
  RollingWindow w;
  int64_t t = 1'000'000;  // any monotonic origin
  w.record(t, 200, 0.001);
  w.record(t + 10, 404, 0.001);
  w.record(t + 20, 503, 0.001);
  w.record(t + 30, 0, 0);  // a try with no answer: an error, no latency
  Slots s = collect(w, t + 40);
  EXPECT_EQ(s[0].requests, 4u);
  EXPECT_EQ(s[0].status_4xx, 1u);
  EXPECT_EQ(s[0].status_5xx, 2u);
  EXPECT_EQ(s[0].latencySamples(), 3u);
  EXPECT_EQ(total(s), 4u);
}

TEST(RollingWindow, SlotRolloverEvery5Seconds) {
  RollingWindow w;
  int64_t t0 = 50'000;  // the start of a slot
  w.record(t0, 200, 0.001);
  w.record(t0 + 4'999, 200, 0.001);  // same slot
  w.record(t0 + 5'000, 200, 0.001);  // next slot
  Slots s = collect(w, t0 + 5'001);
  EXPECT_EQ(s[0].requests, 1u);
  EXPECT_EQ(s[1].requests, 2u);
  // Seen from later, both have moved back by the slots elapsed.
  s = collect(w, t0 + 20'000);
  EXPECT_EQ(s[3].requests, 1u);
  EXPECT_EQ(s[4].requests, 2u);
  EXPECT_EQ(s[0].requests, 0u);
}

TEST(RollingWindow, GapsWithNoTrafficStayEmptyAndOldSlotsAreNotCounted) {
  RollingWindow w;
  int64_t t0 = 100'000;
  w.record(t0, 200, 0.001);
  // 10 minutes of silence: the old slot's index comes round twice but holds another period.
  int64_t t1 = t0 + 600'000;
  EXPECT_EQ(total(collect(w, t1)), 0u);
  w.record(t1, 500, 0.002);
  Slots s = collect(w, t1);
  EXPECT_EQ(s[0].requests, 1u);
  EXPECT_EQ(s[0].status_5xx, 1u);
  EXPECT_EQ(total(s), 1u) << "the slot was reset for its new period, not added to";
}

TEST(RollingWindow, FiveMinutesBackAndNoFurther) {
  RollingWindow w;
  int64_t t0 = 0;
  for (int i = 0; i < 2 * kWindowSlots; ++i) w.record(t0 + i * kWindowSlotMs, 200, 0.001);
  int64_t now = t0 + (2 * kWindowSlots - 1) * kWindowSlotMs;
  Slots s = collect(w, now);
  EXPECT_EQ(total(s), static_cast<uint64_t>(kWindowSlots));
  EXPECT_EQ(total(s, 12), 12u);  // the last minute
  // One slot later, the oldest falls out.
  EXPECT_EQ(total(collect(w, now + kWindowSlotMs)), static_cast<uint64_t>(kWindowSlots - 1));
}

TEST(RollingWindow, AClockThatGoesBackDoesNotEraseNewerCounts) {
  RollingWindow w;
  int64_t t = 400'000;
  w.record(t, 200, 0.001);
  w.record(t - kWindowSlots * kWindowSlotMs, 200, 0.001);  // same index, older period: dropped
  EXPECT_EQ(collect(w, t)[0].requests, 1u);
}

TEST(WindowCounts, PercentilesFromBuckets) {
  WindowCounts c;
  EXPECT_LT(c.percentileMs(0.5), 0) << "no samples";
  // 100 samples of 1 ms (bucket [768 us, 1024 us)), one of 500 ms.
  for (int i = 0; i < 99; ++i) c.latency[latencyBucket(1000)]++;
  c.latency[latencyBucket(500'000)]++;
  double p50 = c.percentileMs(0.5);
  EXPECT_GE(p50, 0.768);
  EXPECT_LE(p50, 1.024);
  double p99 = c.percentileMs(0.99);
  EXPECT_LE(p99, 1.024) << "the 99th of 100 is still a 1 ms sample";
  double p100 = c.percentileMs(1.0);
  EXPECT_GE(p100, 393.216);  // the 500 ms bucket: [393.216 ms, 524.288 ms)
  EXPECT_LE(p100, 524.288);
}

TEST(WindowCounts, PercentileIsWithinTheBucketOfTheTrueValue) {
  for (uint64_t us : {40u, 100u, 1'500u, 12'345u, 250'000u, 3'000'000u}) {
    WindowCounts c;
    c.latency[latencyBucket(us)] += 10;
    int b = latencyBucket(us);
    double lo = latencyBucketLower(b) / 1000, hi = latencyBucketLower(b + 1) / 1000;
    for (double q : {0.5, 0.99}) {
      EXPECT_GE(c.percentileMs(q), lo) << us;
      EXPECT_LE(c.percentileMs(q), hi) << us;
    }
  }
}

TEST(WindowCounts, MergedCountsGiveTheMergedPercentile) {
  // Two workers: one fast (90 x ~1 ms), one slow (10 x ~100 ms). p50 is fast, p99 slow.
  WindowCounts fast, slow, merged;
  fast.requests = 90;
  fast.latency[latencyBucket(1000)] = 90;
  slow.requests = 10;
  slow.status_5xx = 10;
  slow.latency[latencyBucket(100'000)] = 10;
  merged.add(fast);
  merged.add(slow);
  EXPECT_EQ(merged.requests, 100u);
  EXPECT_EQ(merged.status_5xx, 10u);
  EXPECT_LE(merged.percentileMs(0.5), 1.024);
  EXPECT_GE(merged.percentileMs(0.99), 98.304);  // [98.304 ms, 131.072 ms)
  EXPECT_LE(merged.percentileMs(0.99), 131.072);
}

// One writer and one reader at once (run under TSan/ASan in CI): the reader never sees a slot
// of a wrong period nor more requests than were recorded.
TEST(RollingWindow, ConcurrentReaderSeesConsistentSlots) {
  RollingWindow w;
  std::atomic<int64_t> now{0};
  std::atomic<bool> done{false};
  std::atomic<bool> reading{false};  // the writer starts once the reader runs: they overlap
  constexpr int kRecords = 200'000;
  std::thread writer([&] {
    while (!reading.load()) std::this_thread::yield();
    for (int i = 0; i < kRecords; ++i) {
      int64_t t = static_cast<int64_t>(i) * 7;  // crosses a slot every ~714 records
      now.store(t, std::memory_order_relaxed);
      w.record(t, 200, 0.001);
    }
    done = true;
  });
  uint64_t reads = 0;
  reading = true;
  while (!done) {
    Slots s = collect(w, now.load(std::memory_order_relaxed));
    EXPECT_LE(total(s), static_cast<uint64_t>(kRecords));
    for (const auto& c : s) EXPECT_LE(c.requests, 715u);  // one period's worth at most
    ++reads;
  }
  writer.join();
  EXPECT_GT(reads, 0u);
  Slots s = collect(w, now.load());
  uint64_t expected = 0;  // the records of the last 60 periods
  int64_t last = now.load() / kWindowSlotMs;
  for (int i = 0; i < kRecords; ++i) {
    if (static_cast<int64_t>(i) * 7 / kWindowSlotMs > last - kWindowSlots) ++expected;
  }
  EXPECT_EQ(total(s), expected);
}

}  // namespace
}  // namespace sluice::proxy
