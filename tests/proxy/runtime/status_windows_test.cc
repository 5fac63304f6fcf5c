// What the status page reads of the rolling windows: several workers merged, 1- against
// 5-minute totals and rates, chart points, and series kept by name across snapshots.
#include "proxy/runtime/status_windows.h"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

constexpr int64_t kStart = 1'000'000;  // the injected clock's origin (ms), a slot boundary

TEST(StatusWindows, MergesWorkersAndSplits1From5Minutes) {
  StatusSeries s(2, kStart);
  // Worker 0: 60 fast OKs three minutes ago; worker 1: 30 requests in the last minute, a third
  // of them 503 and a third 404, slower.
  int64_t now = kStart + 300'000;
  for (int i = 0; i < 60; ++i) s.record(0, now - 180'000 + i * 100, 200, 0.001);
  for (int i = 0; i < 30; ++i) {
    int status = i % 3 == 0 ? 503 : i % 3 == 1 ? 404 : 200;
    s.record(1, now - 30'000 + i * 100, status, 0.050);
  }
  SeriesView v = viewOf({&s}, now);
  EXPECT_EQ(v.last_1m.requests, 30u);
  EXPECT_EQ(v.last_1m.status_5xx, 10u);
  EXPECT_EQ(v.last_1m.status_4xx, 10u);
  EXPECT_EQ(v.last_5m.requests, 90u);
  // now is on a slot boundary: 11 whole slots and 0 s of the current one.
  EXPECT_DOUBLE_EQ(v.last_1m.seconds, 55);
  EXPECT_DOUBLE_EQ(v.last_5m.seconds, 295);
  EXPECT_DOUBLE_EQ(v.last_1m.rate, 30.0 / 55);
  EXPECT_DOUBLE_EQ(v.last_5m.rate, 90.0 / 295);
  // 1m: all samples ~50 ms; 5m: two thirds at ~1 ms, so p50 is fast and p99 slow.
  EXPECT_GE(v.last_1m.p50_ms, 49.152);
  EXPECT_LE(v.last_1m.p50_ms, 65.536);
  EXPECT_LE(v.last_5m.p50_ms, 1.024);
  EXPECT_GE(v.last_5m.p99_ms, 49.152);
}

TEST(StatusWindows, AYoungSeriesRateIsOverItsAge) {
  StatusSeries s(1, kStart);
  for (int i = 0; i < 20; ++i) s.record(0, kStart + 1'000 + i * 100, 200, 0.001);
  SeriesView v = viewOf({&s}, kStart + 10'000);  // 10 s old
  EXPECT_DOUBLE_EQ(v.last_1m.seconds, 10);
  EXPECT_DOUBLE_EQ(v.last_1m.rate, 2);
  EXPECT_DOUBLE_EQ(v.last_5m.rate, 2);
  // Mid-slot: the window counts the part of the current slot that has passed.
  StatusSeries old(1, 0);
  EXPECT_DOUBLE_EQ(viewOf({&old}, kStart + 2'500).last_1m.seconds, 57.5);
}

TEST(StatusWindows, ChartPointsOldestFirst) {
  StatusSeries s(2, 0);
  int64_t now = kStart + 2'000;          // 2 s into a slot
  s.record(0, now - 1'000, 200, 0.010);  // the current slot
  s.record(1, now - 1'500, 500, 0.200);  // the current slot, another worker
  for (int i = 0; i < 10; ++i) s.record(0, now - 7'000, 200, 0.001);  // the slot before
  s.record(1, now - 295'000, 200, 0.001);  // 59 slots back: the oldest point
  SeriesView v = viewOf({&s}, now);
  size_t last = kWindowSlots - 1;
  EXPECT_EQ(v.requests[last], 2u);
  EXPECT_DOUBLE_EQ(v.rate[last], 1.0);  // 2 requests over the 2 s that passed
  EXPECT_DOUBLE_EQ(v.share_5xx[last], 0.5);
  EXPECT_GE(v.p99_ms[last], 196.608);  // the 200 ms sample's bucket
  EXPECT_EQ(v.requests[last - 1], 10u);
  EXPECT_DOUBLE_EQ(v.rate[last - 1], 2.0);  // 10 over a whole 5 s slot
  EXPECT_EQ(v.requests[0], 1u);
  EXPECT_LT(v.p99_ms[5], 0) << "no samples: a gap in the p99 chart";
  EXPECT_DOUBLE_EQ(v.share_5xx[5], 0);
}

TEST(StatusWindows, AnUpstreamMergesItsTargets) {
  StatusSeries a(1, kStart), b(1, kStart + 30'000);
  a.record(0, kStart + 40'000, 200, 0.001);
  b.record(0, kStart + 40'000, 0, 0);  // a failed try
  SeriesView v = viewOf({&a, nullptr, &b}, kStart + 50'000);
  EXPECT_EQ(v.last_1m.requests, 2u);
  EXPECT_EQ(v.last_1m.status_5xx, 1u);
  EXPECT_DOUBLE_EQ(v.last_1m.seconds, 50) << "the oldest series' age";
}

TEST(StatusWindows, SurvivorsKeepTheirSeriesNewNamesStartEmpty) {
  StatusWindows reg(2);
  auto r1 = reg.route("api", kStart);
  auto t1 = reg.target("pool", "10.0.0.1:80", kStart);
  r1->record(1, kStart + 1'000, 200, 0.001);
  // The next snapshot names "api" again and a new route; the old snapshot is still alive.
  auto r2 = reg.route("api", kStart + 5'000);
  auto n2 = reg.route("new", kStart + 5'000);
  EXPECT_EQ(r1.get(), r2.get());
  EXPECT_NE(n2.get(), r2.get());
  EXPECT_EQ(n2->createdMs(), kStart + 5'000);
  EXPECT_EQ(n2->workers(), 2u);
  EXPECT_EQ(viewOf({r2.get()}, kStart + 6'000).last_1m.requests, 1u);
  EXPECT_EQ(viewOf({n2.get()}, kStart + 6'000).last_1m.requests, 0u);
  // Same address in another upstream: another series.
  EXPECT_NE(reg.target("other", "10.0.0.1:80", kStart).get(), t1.get());
  // Once no snapshot holds a series, its name starts afresh.
  r1.reset();
  r2.reset();
  reg.prune();
  auto r3 = reg.route("api", kStart + 9'000);
  EXPECT_EQ(r3->createdMs(), kStart + 9'000);
  EXPECT_EQ(viewOf({r3.get()}, kStart + 9'500).last_1m.requests, 0u);
}

TEST(StatusWindows, RecordOutsideTheWorkersIsIgnored) {
  StatusSeries s(1, 0);
  s.record(5, kStart, 200, 0.001);  // no such worker
  EXPECT_EQ(viewOf({&s}, kStart).last_1m.requests, 0u);
  EXPECT_EQ(s.windowsAllocated(), 0u);
}

TEST(StatusWindows, AWorkerHoldsAWindowOnlyOnceItRecords) {
  // Idle routes and targets cost no ring: a 5,000-route config held 55 MB of empty windows
  // per worker when every series allocated one per worker up front.
  StatusSeries s(4, kStart);
  EXPECT_EQ(s.windowsAllocated(), 0u);
  EXPECT_EQ(viewOf({&s}, kStart + 1'000).last_1m.requests, 0u);  // nothing to merge yet
  s.record(2, kStart + 1'000, 200, 0.001);
  s.record(2, kStart + 2'000, 500, 0.001);
  EXPECT_EQ(s.windowsAllocated(), 1u);
  s.record(0, kStart + 3'000, 200, 0.001);
  EXPECT_EQ(s.windowsAllocated(), 2u);
  SeriesView v = viewOf({&s}, kStart + 4'000);
  EXPECT_EQ(v.last_1m.requests, 3u);
  EXPECT_EQ(v.last_1m.status_5xx, 1u);
}

}  // namespace
}  // namespace sluice::proxy
