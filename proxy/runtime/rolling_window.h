// Rolling windows of request counts, 4xx/5xx and latency over the last 5 minutes, for the status
// page: a fixed ring of 5-second slots written by one worker thread with no lock and no
// allocation, read (merged) by the admin on the main thread. Time comes in as a parameter
// (milliseconds on any monotonic clock), so tests drive it exactly.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace sluice::proxy {

inline constexpr int64_t kWindowSlotMs = 5000;  // one slot per 5 s
inline constexpr int kWindowSlots = 60;         // 300 s: the 5-minute window and the charts
// Latency buckets: two per power of two from 32 us (bucket 0 holds everything below 48 us) to
// 25 s (the last holds everything above). Percentiles are interpolated inside a bucket, so an
// estimate is off by at most the bucket's width (a third to a half of its lower bound).
inline constexpr int kLatencyBuckets = 40;

// The bucket of a latency of `micros`.
int latencyBucket(uint64_t micros);
// The lower bound of bucket `b` in microseconds (0 for bucket 0); the upper bound is the lower
// bound of b + 1 (the last bucket's is taken as 2^25 us, about 33.5 s).
double latencyBucketLower(int b);

// Plain sums of one slot or of several (slots, workers), merged by adding.
struct WindowCounts {
  uint64_t requests = 0;  // responses and failed tries
  uint64_t status_4xx = 0;
  uint64_t status_5xx = 0;  // includes tries that got no response (status 0)
  std::array<uint64_t, kLatencyBuckets> latency{};

  void add(const WindowCounts& other);
  uint64_t latencySamples() const;
  // The latency in milliseconds below which a share `q` (0..1) of the samples fall, linearly
  // interpolated in its bucket; negative when there are no samples.
  double percentileMs(double q) const;
};

// The last kWindowSlots slots of one series (a route or a target) as seen by one worker.
// record() is called by that worker only; collect() by any thread at any time. Counters are
// relaxed atomics written with plain load+store (one writer), and a slot that is recycled for a
// new 5-second period is reset under its epoch as a seqlock: a reader that overlaps a reset
// skips that slot rather than reading a mix of periods.
// Cache-line aligned: the windows of a series' workers sit side by side, and one worker's
// writes must not slow another's.
class alignas(64) RollingWindow {
 public:
  RollingWindow() = default;
  RollingWindow(const RollingWindow&) = delete;
  RollingWindow& operator=(const RollingWindow&) = delete;

  // One answer (or failed try when `status` is 0, which has no latency) at `now_ms`.
  void record(int64_t now_ms, int status, double seconds);

  // Adds the slot of `now_ms` into per_slot[0], the one before into per_slot[1], and so on;
  // slots with no traffic in their period (or recycled since) add nothing.
  void collect(int64_t now_ms, std::array<WindowCounts, kWindowSlots>& per_slot) const;

 private:
  struct Slot {
    std::atomic<int64_t> epoch{-1};  // now_ms / kWindowSlotMs of the period it holds; < 0 none
    std::atomic<uint32_t> requests{0};
    std::atomic<uint32_t> status_4xx{0};
    std::atomic<uint32_t> status_5xx{0};
    std::array<std::atomic<uint32_t>, kLatencyBuckets> latency{};
  };
  void reset(Slot& s, int64_t epoch);

  std::array<Slot, kWindowSlots> slots_{};
};

}  // namespace sluice::proxy
