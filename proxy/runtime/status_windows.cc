#include "proxy/runtime/status_windows.h"

#include <algorithm>
#include <limits>

namespace sluice::proxy {

StatusSeries::StatusSeries(size_t workers, int64_t created_ms)
    : workers_(workers),
      created_ms_(created_ms),
      windows_(std::make_unique<std::atomic<RollingWindow*>[]>(workers)) {
  for (size_t i = 0; i < workers_; ++i) windows_[i].store(nullptr, std::memory_order_relaxed);
}

StatusSeries::~StatusSeries() {
  for (size_t i = 0; i < workers_; ++i) delete windows_[i].load(std::memory_order_acquire);
}

RollingWindow* StatusSeries::allocate(size_t worker) {
  auto* w = new RollingWindow();
  windows_[worker].store(w, std::memory_order_release);
  return w;
}

size_t StatusSeries::windowsAllocated() const {
  size_t n = 0;
  for (size_t i = 0; i < workers_; ++i) n += windows_[i].load(std::memory_order_acquire) != nullptr;
  return n;
}

void StatusSeries::collect(int64_t now_ms, std::array<WindowCounts, kWindowSlots>& per_slot) const {
  for (size_t i = 0; i < workers_; ++i) {
    if (const RollingWindow* w = windows_[i].load(std::memory_order_acquire)) {
      w->collect(now_ms, per_slot);
    }
  }
}

namespace {
WindowSummary summarize(const std::array<WindowCounts, kWindowSlots>& slots, int n,
                        double seconds) {
  WindowCounts c;
  for (int k = 0; k < n; ++k) c.add(slots[static_cast<size_t>(k)]);
  WindowSummary w;
  w.seconds = seconds;
  w.requests = c.requests;
  w.status_4xx = c.status_4xx;
  w.status_5xx = c.status_5xx;
  w.rate = static_cast<double>(c.requests) / seconds;
  w.p50_ms = c.percentileMs(0.5);
  w.p99_ms = c.percentileMs(0.99);
  return w;
}
}  // namespace

SeriesView viewOf(const std::vector<const StatusSeries*>& series, int64_t now_ms) {
  std::array<WindowCounts, kWindowSlots> slots{};
  int64_t created = std::numeric_limits<int64_t>::max();
  for (const StatusSeries* s : series) {
    if (s == nullptr) continue;
    s->collect(now_ms, slots);
    created = std::min(created, s->createdMs());
  }
  // Seconds of the slot in progress that have passed, and of the series' life.
  double current = static_cast<double>(now_ms % kWindowSlotMs) / 1000.0;
  double age = created == std::numeric_limits<int64_t>::max()
                   ? 0
                   : static_cast<double>(now_ms - created) / 1000.0;
  auto covered = [&](int n) {
    double whole = static_cast<double>(n - 1) * (kWindowSlotMs / 1000.0) + current;
    return std::max(1.0, std::min(whole, age));  // at least a second: no rate from a blink
  };
  SeriesView v;
  v.last_1m = summarize(slots, static_cast<int>(60000 / kWindowSlotMs), covered(12));
  v.last_5m = summarize(slots, kWindowSlots, covered(kWindowSlots));
  for (int k = 0; k < kWindowSlots; ++k) {
    const WindowCounts& c = slots[static_cast<size_t>(k)];
    size_t i = static_cast<size_t>(kWindowSlots - 1 - k);
    double span = k == 0 ? std::max(1.0, current) : kWindowSlotMs / 1000.0;
    v.requests[i] = c.requests;
    v.rate[i] = static_cast<double>(c.requests) / span;
    v.p99_ms[i] = c.percentileMs(0.99);
    v.share_5xx[i] =
        c.requests == 0 ? 0 : static_cast<double>(c.status_5xx) / static_cast<double>(c.requests);
  }
  return v;
}

std::shared_ptr<StatusSeries> StatusWindows::get(
    std::map<std::string, std::weak_ptr<StatusSeries>>& m, const std::string& key, int64_t now_ms) {
  std::weak_ptr<StatusSeries>& slot = m[key];
  std::shared_ptr<StatusSeries> s = slot.lock();
  if (!s) {
    s = std::make_shared<StatusSeries>(workers_, now_ms);
    slot = s;
  }
  return s;
}

void StatusWindows::prune() {
  for (auto* m : {&routes_, &targets_}) {
    std::erase_if(*m, [](const auto& kv) { return kv.second.expired(); });
  }
}

std::shared_ptr<StatusSeries> StatusWindows::route(const std::string& name, int64_t now_ms) {
  return get(routes_, name, now_ms);
}

std::shared_ptr<StatusSeries> StatusWindows::target(const std::string& upstream,
                                                    const std::string& address, int64_t now_ms) {
  return get(targets_, upstream + "\n" + address, now_ms);
}

}  // namespace sluice::proxy
