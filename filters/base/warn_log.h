// Warnings from filters, in the format of proxy/runtime/log.h ("<4>warning: ..." on stderr, one
// write per line), rate-limited so that a failing dependency (e.g. the Redis store) cannot flood
// the log: at most one line per `every` per call site; the lines skipped meanwhile are counted.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::base {

class WarnLimiter {
 public:
  explicit WarnLimiter(std::chrono::seconds every) : every_ns_(every.count() * 1'000'000'000LL) {}

  // Any thread.
  void warn(std::string_view message) {
    int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    int64_t last = last_.load(std::memory_order_relaxed);
    if (last != 0 && now - last < every_ns_) {
      suppressed_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!last_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
      suppressed_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::string line = "<4>warning: ";
    line.append(message);
    if (uint64_t n = suppressed_.exchange(0, std::memory_order_relaxed); n > 0) {
      line += " (" + std::to_string(n) + " similar lines suppressed)";
    }
    line.push_back('\n');
    ssize_t w = ::write(STDERR_FILENO, line.data(), line.size());
    (void)w;
  }

 private:
  int64_t every_ns_;
  std::atomic<int64_t> last_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace sluice::base
