#include "proxy/runtime/rolling_window.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sluice::proxy {

namespace {
constexpr int kFirstRaw = 10;  // raw index of [32 us, 48 us): 2 * log2(32) + 0

// 2 * floor(log2 v) + the bit below the leading one: two buckets per power of two.
int rawBucket(uint64_t v) {
  if (v < 2) return 0;
  int e = 63 - std::countl_zero(v);
  return 2 * e + static_cast<int>((v >> (e - 1)) & 1);
}

double rawLower(int raw) {
  double p = std::ldexp(1.0, raw / 2);
  return raw % 2 == 0 ? p : 1.5 * p;
}

// One writer: a relaxed load and store is enough (no read-modify-write bus lock), and readers
// still see a whole value.
inline void bump(std::atomic<uint32_t>& a) {
  a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

inline uint64_t read(const std::atomic<uint32_t>& a) {
  return a.load(std::memory_order_relaxed);
}
}  // namespace

int latencyBucket(uint64_t micros) {
  return std::clamp(rawBucket(micros) - kFirstRaw, 0, kLatencyBuckets - 1);
}

double latencyBucketLower(int b) {
  if (b <= 0) return 0;
  return rawLower(b + kFirstRaw);
}

void WindowCounts::add(const WindowCounts& o) {
  requests += o.requests;
  status_4xx += o.status_4xx;
  status_5xx += o.status_5xx;
  for (int b = 0; b < kLatencyBuckets; ++b) latency[b] += o.latency[b];
}

uint64_t WindowCounts::latencySamples() const {
  uint64_t n = 0;
  for (uint64_t c : latency) n += c;
  return n;
}

double WindowCounts::percentileMs(double q) const {
  uint64_t total = latencySamples();
  if (total == 0) return -1;
  double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  double seen = 0;
  for (int b = 0; b < kLatencyBuckets; ++b) {
    if (latency[b] == 0) continue;
    double n = static_cast<double>(latency[b]);
    if (seen + n >= rank) {
      double lo = latencyBucketLower(b);
      double hi = b + 1 < kLatencyBuckets ? latencyBucketLower(b + 1) : std::ldexp(1.0, 25);
      return (lo + (hi - lo) * std::clamp((rank - seen) / n, 0.0, 1.0)) / 1000.0;
    }
    seen += n;
  }
  return latencyBucketLower(kLatencyBuckets - 1) / 1000.0;  // not reached
}

void RollingWindow::reset(Slot& s, int64_t epoch) {
  // Seqlock write: mark the slot as changing, then zero it, then publish its new period.
  s.epoch.store(-2, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.requests.store(0, std::memory_order_relaxed);
  s.status_4xx.store(0, std::memory_order_relaxed);
  s.status_5xx.store(0, std::memory_order_relaxed);
  for (auto& c : s.latency) c.store(0, std::memory_order_relaxed);
  s.epoch.store(epoch, std::memory_order_release);
}

void RollingWindow::record(int64_t now_ms, int status, double seconds) {
  if (now_ms < 0) return;
  int64_t epoch = now_ms / kWindowSlotMs;
  Slot& s = slots_[static_cast<size_t>(epoch % kWindowSlots)];
  if (s.epoch.load(std::memory_order_relaxed) != epoch) {
    // A period older than the slot's (a clock that went back) would erase newer counts: drop it.
    if (s.epoch.load(std::memory_order_relaxed) > epoch) return;
    reset(s, epoch);
  }
  bump(s.requests);
  if (status >= 500 || status <= 0) {
    bump(s.status_5xx);
  } else if (status >= 400) {
    bump(s.status_4xx);
  }
  if (status > 0) {
    uint64_t us = seconds > 0 ? static_cast<uint64_t>(seconds * 1e6) : 0;
    bump(s.latency[static_cast<size_t>(latencyBucket(us))]);
  }
}

void RollingWindow::collect(int64_t now_ms, std::array<WindowCounts, kWindowSlots>& out) const {
  if (now_ms < 0) return;
  int64_t now_epoch = now_ms / kWindowSlotMs;
  for (int k = 0; k < kWindowSlots && now_epoch - k >= 0; ++k) {
    int64_t epoch = now_epoch - k;
    const Slot& s = slots_[static_cast<size_t>(epoch % kWindowSlots)];
    if (s.epoch.load(std::memory_order_acquire) != epoch) continue;
    WindowCounts c;
    c.requests = read(s.requests);
    c.status_4xx = read(s.status_4xx);
    c.status_5xx = read(s.status_5xx);
    for (int b = 0; b < kLatencyBuckets; ++b) c.latency[b] = read(s.latency[b]);
    // Seqlock read: if the slot was recycled while we read it, its epoch changed; skip it.
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s.epoch.load(std::memory_order_relaxed) != epoch) continue;
    out[static_cast<size_t>(k)].add(c);
  }
}

}  // namespace sluice::proxy
