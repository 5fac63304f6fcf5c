#include "proxy/admin/status_events.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <nlohmann/json.hpp>
#include <utility>

#include "proxy/admin/status_page.h"

namespace sluice::proxy {

namespace {
// De-duplication remembers the last state of this many subjects; past it (targets come and go
// with reloads and re-resolution) it starts afresh rather than grow.
constexpr size_t kMaxSubjects = 4096;
// A state reported again within this time is the same transition seen twice; later, it is news
// (a target removed by a reload while unhealthy starts healthy when it comes back, unreported).
constexpr double kSameTransitionSeconds = 10;

std::string utcText(double unix_seconds) {
  time_t t = static_cast<time_t>(std::floor(unix_seconds));
  tm tmv{};
  gmtime_r(&t, &tmv);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tmv);
  return buf;
}

std::string agoText(double seconds) {
  long s = seconds > 0 ? static_cast<long>(seconds) : 0;
  char buf[48];
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%lds ago", s);
  } else if (s < 7200) {
    std::snprintf(buf, sizeof buf, "%ld min ago", s / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld h ago", s / 3600);
  }
  return buf;
}

// `s` with every byte that is not part of valid UTF-8 replaced by '?': nlohmann::json refuses
// to dump invalid UTF-8, and a config error line may quote any byte of the file.
std::string utf8(std::string s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (ok && n > 1) {  // no overlong forms, surrogates or code points past U+10FFFF
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c < 0xC2 || (c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) ||
             (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90) || c > 0xF4);
    }
    if (!ok) {
      s[i++] = '?';
      continue;
    }
    i += n;
  }
  return s;
}

// The page's colour for a state: bad for what takes capacity away, ok for what gives it back.
const char* stateClass(const std::string& state) {
  if (state == "unhealthy" || state == "ejected" || state == "open" || state == "lost" ||
      state == "reload failed") {
    return "bad";
  }
  if (state == "half-open") return "warn";
  return "ok";
}
}  // namespace

StatusEvents::StatusEvents(Clock clock, size_t capacity)
    : clock_(std::move(clock)), capacity_(capacity > 0 ? capacity : 1) {}

double StatusEvents::wallClock() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string StatusEvents::keyOf(base::EventKind kind, const std::string& subject) {
  return std::to_string(static_cast<int>(kind)) + "/" + subject;
}

void StatusEvents::record(base::EventKind kind, const std::string& subject,
                          const std::string& state, const std::string& detail) {
  StatusEvent e{clock_(), kind, subject, state, detail};  // built before the lock is taken
  std::lock_guard lock(mu_);
  releaseDueLocked(e.unix_seconds);
  pending_.erase(keyOf(kind, subject));
  appendLocked(std::move(e));
}

void StatusEvents::schedule(base::EventKind kind, const std::string& subject,
                            const std::string& state, const std::string& detail,
                            double after_seconds) {
  double now = clock_();
  StatusEvent e{now + std::max(after_seconds, 0.0), kind, subject, state, detail};
  std::string key = keyOf(kind, subject);
  std::lock_guard lock(mu_);
  releaseDueLocked(now);
  pending_.insert_or_assign(std::move(key), std::move(e));
}

void StatusEvents::recordLink(base::EventKind kind, const std::string& subject, bool up,
                              const std::string& detail) {
  StatusEvent e{clock_(), kind, subject, up ? "regained" : "lost", detail};
  std::string key = keyOf(kind, subject);
  std::lock_guard lock(mu_);
  releaseDueLocked(e.unix_seconds);
  int& down = links_down_[key];
  if (up) {
    if (down == 0) return;   // a first connection, or one that was never reported down
    if (--down > 0) return;  // others are still down
  } else if (++down > 1) {
    return;  // already lost through another connection
  }
  appendLocked(std::move(e));
}

StatusEvents::View StatusEvents::view() {
  double now = clock_();
  View v;
  std::lock_guard lock(mu_);
  releaseDueLocked(now);
  v.newest_first.assign(events_.rbegin(), events_.rend());
  v.dropped = dropped_;
  return v;
}

void StatusEvents::releaseDueLocked(double now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.unix_seconds <= now) {
      appendLocked(std::move(it->second));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

void StatusEvents::appendLocked(StatusEvent e) {
  if (e.kind != base::EventKind::Reload) {
    std::string key = keyOf(e.kind, e.subject);
    auto it = last_state_.find(key);
    if (it != last_state_.end() && it->second.first == e.state &&
        std::fabs(e.unix_seconds - it->second.second) < kSameTransitionSeconds) {
      return;  // not a change
    }
    if (it == last_state_.end() && last_state_.size() >= kMaxSubjects) last_state_.clear();
    last_state_[key] = {e.state, e.unix_seconds};
  }
  // In time order: a scheduled event may be older than the last one recorded.
  auto pos = events_.end();
  while (pos != events_.begin() && std::prev(pos)->unix_seconds > e.unix_seconds) --pos;
  events_.insert(pos, std::move(e));
  while (events_.size() > capacity_) {
    events_.pop_front();
    ++dropped_;
  }
}

std::string renderEventsHtml(const StatusEvents::View& view, double now) {
  std::string h =
      "<h2>Events</h2><table id=\"events\"><tr><th>time</th><th>ago</th><th>what</th>"
      "<th>subject</th><th>state</th><th>detail</th></tr>";
  if (view.newest_first.empty()) {
    h += "<tr><td colspan=\"6\" class=\"muted\">no state changes since start</td></tr>";
  }
  for (const StatusEvent& e : view.newest_first) {
    h += "<tr data-kind=\"" + htmlEscape(base::eventKindName(e.kind)) + "\" data-state=\"" +
         htmlEscape(e.state) + "\"><td>" + utcText(e.unix_seconds) + "</td><td>" +
         agoText(now - e.unix_seconds) + "</td><td>" + htmlEscape(base::eventKindName(e.kind)) +
         "</td><td>" + htmlEscape(e.subject) + "</td><td class=\"" + stateClass(e.state) + "\">" +
         htmlEscape(e.state) + "</td><td>" + htmlEscape(e.detail) + "</td></tr>";
  }
  if (view.dropped > 0) {
    h += "<tr><td colspan=\"6\" class=\"muted\">" + std::to_string(view.dropped) +
         " older event(s) dropped</td></tr>";
  }
  h += "</table>";
  return h;
}

void appendEventsJson(nlohmann::json& out, const StatusEvents::View& view, double now) {
  nlohmann::json list = nlohmann::json::array();
  for (const StatusEvent& e : view.newest_first) {
    std::string utc = utcText(e.unix_seconds);
    utc.replace(utc.size() - 4, 4, "Z");  // "2026-12-05 03:04:05Z"
    utc[10] = 'T';
    list.push_back({{"time", e.unix_seconds},
                    {"time_utc", utc},
                    {"ago_seconds", std::max(0.0, std::round((now - e.unix_seconds) * 10) / 10)},
                    {"kind", base::eventKindName(e.kind)},
                    {"subject", utf8(e.subject)},
                    {"state", utf8(e.state)},
                    {"detail", utf8(e.detail)}});
  }
  out["events"] = std::move(list);
  out["events_dropped"] = view.dropped;
}

}  // namespace sluice::proxy
