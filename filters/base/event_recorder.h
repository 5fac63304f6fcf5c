// What the status page's event list is told: state changes of targets, breakers, the config and
// the rate-limit store, recorded where they happen (main thread or a worker) and shown newest
// first on GET /status. The proxy implements it once per process (proxy/admin/status_events.h);
// filters reach it through WorkerServices::events(), the proxy through its SharedState.
#pragma once

#include <string>

namespace sluice::base {

enum class EventKind {
  TargetHealth,    // active health checks: "unhealthy" | "healthy"
  TargetEjection,  // passive health (outlier ejection): "ejected" | "returned"
  Circuit,         // a target's breaker: "open" | "half-open" | "closed"
  Reload,          // the config: "loaded" | "reloaded" | "reload failed" (never de-duplicated)
  RateLimitStore,  // the Redis store of cluster rate limits: "lost" | "regained"
};

// "target health", "ejection", "circuit", "config", "rate-limit store": for pages and JSON.
inline const char* eventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::TargetHealth:
      return "target health";
    case EventKind::TargetEjection:
      return "ejection";
    case EventKind::Circuit:
      return "circuit";
    case EventKind::Reload:
      return "config";
    case EventKind::RateLimitStore:
      return "rate-limit store";
  }
  return "event";
}

// Thread-safe: any thread may call, and a call never waits for more than a few moves under a
// mutex that nothing holds for longer (state changes are rare; nothing here is per request).
class EventRecorder {
 public:
  virtual ~EventRecorder() = default;

  // A state change of `subject` (e.g. "api 10.0.0.1:8080"), stamped now (wall clock). The same
  // state reported again for the same kind and subject within seconds is not a change and is
  // dropped (several workers seeing one transition make one event); Reload events are always
  // kept.
  virtual void record(EventKind kind, const std::string& subject, const std::string& state,
                      const std::string& detail) = 0;

  // The same, stamped `after_seconds` from now and shown only once that time has come (an
  // ejection that ends by time alone: "returned"). A later record or schedule of the same kind
  // and subject replaces one still pending.
  virtual void schedule(EventKind kind, const std::string& subject, const std::string& state,
                        const std::string& detail, double after_seconds) = 0;

  // One of several per-thread connections to a shared dependency (each worker's Redis client)
  // went down (`up` false) or came back. Each connection reports its own flips only. The
  // dependency is "lost" when the first of them goes down and "regained" when the last one is
  // back: one pair of events per outage whatever the number of workers.
  virtual void recordLink(EventKind kind, const std::string& subject, bool up,
                          const std::string& detail) = 0;
};

}  // namespace sluice::base
