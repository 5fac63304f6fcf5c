// Per-target circuit breaker (closed -> open -> half-open -> closed) and the upstream-wide
// concurrent-request gate (`max_requests`). Pure state machines: time is a parameter, the
// settings come with every call (so a reload's new settings apply at once while the state,
// kept outside config snapshots, survives).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "config/config.h"

namespace sluice::balancer {

enum class CircuitState : uint8_t { Closed = 0, Open = 1, HalfOpen = 2 };

// "closed" | "open" | "half_open", for logs and the sluice_upstream_circuit_state label.
const char* circuitStateName(CircuitState state);

// What allow() granted; hand it back to onSuccess/onFailure/onAbandon for that request.
struct CircuitTicket {
  enum class Kind : uint8_t { Denied, Normal, Probe };
  Kind kind = Kind::Denied;
  uint32_t episode = 0;  // which closed/half-open period granted it; stale results are ignored
  // The first probe of this open period: the breaker has been found half-open (for the event
  // list: the period's "half-open" is reported once, by whoever gets this ticket).
  bool first_probe = false;
  explicit operator bool() const { return kind != Kind::Denied; }
};

// What a result did to the breaker, for logs and the status page's event list: reported once,
// to the one caller whose result made the change.
enum class CircuitChange : uint8_t { None, Opened, Closed };

// Shared by every worker of the process (one per target, keyed with the target's state); all
// methods are thread-safe. The closed-state fast paths (allow, success without a failure ratio)
// are lock-free; everything else takes a small per-target mutex.
//
// Trip rules, checked on each failure while closed (either one opens the breaker):
//  - `consecutive_failures` failures in a row (0 disables the rule);
//  - with `failure_ratio`: over the last `window` (10 buckets of window/10), at least
//    `min_requests` results and failures >= ratio x results.
// Open for `open_for`, then half-open: at most `half_open_requests` probes in flight at once;
// the first probe success closes (counters reset), a probe failure reopens for `open_for`.
// Results of requests granted in an earlier period (e.g. admitted while closed, finishing after
// the breaker opened) are ignored.
class CircuitBreaker {
 public:
  using Config = config::CircuitBreaker;

  // Called by a worker before sending a try to the target (after pick). Denied: the target must
  // not be tried now (pick another with its exclude bit set, or 503). A Probe ticket holds one
  // of the half-open slots until its result is reported.
  CircuitTicket allow(int64_t now_ms, const Config& cfg);
  // Called by the worker when the try ended: success = a response that is not a failure by the
  // upstream's rules; failure = connect failure, reset, timeout or 5xx. Returns Opened when this
  // failure tripped (or a probe's failure reopened) the breaker, Closed when this probe's success
  // closed it.
  CircuitChange onSuccess(int64_t now_ms, const Config& cfg, CircuitTicket ticket);
  CircuitChange onFailure(int64_t now_ms, const Config& cfg, CircuitTicket ticket);
  // The try ended without a verdict (client gone, cancelled): frees a probe slot, counts nothing.
  void onAbandon(CircuitTicket ticket);

  // For metrics and the admin status; Open turns HalfOpen by time alone.
  CircuitState state(int64_t now_ms, const Config& cfg) const;

 private:
  static constexpr int kBuckets = 10;
  struct Bucket {
    int64_t number = -1;  // now / bucket width when last written
    uint32_t successes = 0;
    uint32_t failures = 0;
  };

  void record(int64_t now_ms, const Config& cfg, bool failure);  // mu_ held
  bool ratioTripped(int64_t now_ms, const Config& cfg);          // mu_ held
  void open(int64_t now_ms);                                     // mu_ held
  void close();                                                  // mu_ held

  mutable std::mutex mu_;
  std::atomic<CircuitState> stored_{CircuitState::Closed};  // Closed or Open (half-open is timed)
  std::atomic<uint32_t> consecutive_failures_{0};
  std::atomic<uint32_t> episode_{0};
  int64_t opened_at_ms_ = 0;
  uint32_t probes_in_flight_ = 0;
  uint32_t probed_episode_ = UINT32_MAX;  // the open period whose first probe was granted
  int64_t bucket_width_ms_ = 0;
  Bucket buckets_[kBuckets];
};

// `max_requests`: concurrent requests to the whole upstream. Shared by every worker; lock-free.
class ConcurrencyGate {
 public:
  // Called by a worker before forwarding a request to the upstream; false = over the limit,
  // answer 503. `limit` 0 = unlimited. Every true must be paired with one release().
  bool tryAcquire(uint32_t limit);
  void release();
  int64_t inFlight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace sluice::balancer
