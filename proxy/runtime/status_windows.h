// The rolling windows of each route and target (rolling_window.h), one per worker, and what the
// status page reads of them: merged totals over the last 1 and 5 minutes and the per-slot series
// of its charts. Series are handed out by name while a snapshot is built, so a route or target
// that survives a reload keeps its windows and a new one starts empty; a series lives as long as
// some snapshot that names it (a request of an older snapshot still records into its own).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/runtime/rolling_window.h"

namespace sluice::proxy {

class StatusSeries {
 public:
  StatusSeries(size_t workers, int64_t created_ms);
  ~StatusSeries();
  StatusSeries(const StatusSeries&) = delete;
  StatusSeries& operator=(const StatusSeries&) = delete;
  // One answer (status 0: a try with none) recorded by worker `worker` at `now_ms`; only that
  // worker records into its window, which it allocates at its first answer: a route or target
  // no request reaches costs a pointer per worker, not a ring (about 11 KB), so a config of
  // thousands of routes does not pay for the ones that see no traffic.
  void record(size_t worker, int64_t now_ms, int status, double seconds) {
    if (worker >= workers_) return;
    RollingWindow* w = windows_[worker].load(std::memory_order_relaxed);  // its own entry
    if (w == nullptr) w = allocate(worker);
    w->record(now_ms, status, seconds);
  }
  size_t workers() const { return workers_; }
  int64_t createdMs() const { return created_ms_; }
  // Workers that have recorded into this series (each holds one window). Any thread.
  size_t windowsAllocated() const;
  // Adds every worker's slots at `now_ms` (slot 0 holds now) into `per_slot`. Any thread.
  void collect(int64_t now_ms, std::array<WindowCounts, kWindowSlots>& per_slot) const;

 private:
  RollingWindow* allocate(size_t worker);

  size_t workers_;
  int64_t created_ms_;
  // Published with release by the one worker that writes the entry, read with acquire by
  // collect(); freed with the series.
  std::unique_ptr<std::atomic<RollingWindow*>[]> windows_;
};

// Totals of one window (the last 1 or 5 minutes).
struct WindowSummary {
  double seconds = 0;  // time covered: the window, or less when the series is younger
  uint64_t requests = 0;
  uint64_t status_4xx = 0;
  uint64_t status_5xx = 0;
  double rate = 0;     // requests per second over `seconds`
  double p50_ms = -1;  // negative: no latency samples
  double p99_ms = -1;
};

// What the page shows of one series (or of several merged: an upstream's targets).
struct SeriesView {
  WindowSummary last_1m;
  WindowSummary last_5m;
  // One point per slot, oldest first (the last is the slot in progress): requests per second,
  // p99 in ms (negative: no sample), share of 5xx (0..1; 0 with no requests) and the count.
  std::array<double, kWindowSlots> rate{};
  std::array<double, kWindowSlots> p99_ms{};
  std::array<double, kWindowSlots> share_5xx{};
  std::array<uint64_t, kWindowSlots> requests{};
};

// Merges `series` (null entries are skipped) at `now_ms` into one view. A window covers its
// whole slots and the part of the current one that has elapsed, and never more than the time
// since the oldest of the series was created (a rate over a young series is not diluted).
SeriesView viewOf(const std::vector<const StatusSeries*>& series, int64_t now_ms);

// The series by name (main thread only, while snapshots are built). Keeps weak references:
// a series nobody's snapshot names any more is freed, and the name starts afresh if it returns.
class StatusWindows {
 public:
  explicit StatusWindows(size_t workers) : workers_(workers) {}
  std::shared_ptr<StatusSeries> route(const std::string& name, int64_t now_ms);
  std::shared_ptr<StatusSeries> target(const std::string& upstream, const std::string& address,
                                       int64_t now_ms);
  size_t workers() const { return workers_; }
  // Forgets the names whose series are gone (called before each snapshot is built), so the
  // map stays as small as the configs.
  void prune();

 private:
  std::shared_ptr<StatusSeries> get(std::map<std::string, std::weak_ptr<StatusSeries>>& m,
                                    const std::string& key, int64_t now_ms);
  size_t workers_;
  std::map<std::string, std::weak_ptr<StatusSeries>> routes_;
  std::map<std::string, std::weak_ptr<StatusSeries>> targets_;  // "upstream\naddress"
};

}  // namespace sluice::proxy
