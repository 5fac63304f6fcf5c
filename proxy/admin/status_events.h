// The status page's event list (GET /status, /status.json): the last state changes of targets,
// breakers, the config and the rate-limit store, newest first, in a bounded ring (older events
// are dropped and counted). One per process, owned by the Server; workers and the main thread
// record into it (base::EventRecorder), the admin listener reads it on the main thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "filters/base/event_recorder.h"

namespace sluice::proxy {

struct StatusEvent {
  double unix_seconds = 0;  // wall clock
  base::EventKind kind = base::EventKind::Reload;
  std::string subject;  // "upstream address", "config", a Redis URL
  std::string state;
  std::string detail;
};

class StatusEvents final : public base::EventRecorder {
 public:
  static constexpr size_t kCapacity = 100;
  using Clock = std::function<double()>;  // unix seconds; injected by tests

  explicit StatusEvents(Clock clock = wallClock, size_t capacity = kCapacity);

  void record(base::EventKind kind, const std::string& subject, const std::string& state,
              const std::string& detail) override;
  void schedule(base::EventKind kind, const std::string& subject, const std::string& state,
                const std::string& detail, double after_seconds) override;
  void recordLink(base::EventKind kind, const std::string& subject, bool up,
                  const std::string& detail) override;

  struct View {
    std::vector<StatusEvent> newest_first;
    uint64_t dropped = 0;  // older events that left the ring
  };
  // What the page shows now (scheduled events whose time has come included). Any thread.
  View view();

  static double wallClock();

 private:
  static std::string keyOf(base::EventKind kind, const std::string& subject);
  void releaseDueLocked(double now);
  void appendLocked(StatusEvent e);

  std::mutex mu_;
  Clock clock_;
  size_t capacity_;
  std::deque<StatusEvent> events_;  // oldest first, in time order
  uint64_t dropped_ = 0;
  // kind/subject -> the last state recorded and when
  std::map<std::string, std::pair<std::string, double>> last_state_;
  std::map<std::string, StatusEvent> pending_;  // kind/subject -> scheduled, not yet due
  std::map<std::string, int> links_down_;       // kind/subject -> connections down now
};

// The "Events" section of the HTML page (a table, id="events"), times in UTC and as "Ns ago"
// from `now` (unix seconds).
std::string renderEventsHtml(const StatusEvents::View& view, double now);
// `events` (newest first: time, time_utc, ago_seconds, kind, subject, state, detail) and
// `events_dropped` of /status.json.
void appendEventsJson(nlohmann::json& out, const StatusEvents::View& view, double now);

}  // namespace sluice::proxy
