#include "proxy/admin/status_events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

namespace sluice::proxy {
namespace {

using base::EventKind;

struct StatusEventsTest : ::testing::Test {
  double now = 1'800'000'000;  // 2027-01-15 08:00:00 UTC
  StatusEvents events{[this] { return now; }, 4};

  std::vector<std::string> states() {
    std::vector<std::string> out;
    for (const StatusEvent& e : events.view().newest_first)
      out.push_back(e.subject + " " + e.state);
    return out;
  }
};

TEST_F(StatusEventsTest, NewestFirstWithTheClockTime) {
  events.record(EventKind::TargetHealth, "api a:1", "unhealthy", "/health failed 2 times");
  now += 5;
  events.record(EventKind::TargetHealth, "api a:1", "healthy", "");
  auto v = events.view();
  ASSERT_EQ(v.newest_first.size(), 2u);
  EXPECT_EQ(v.newest_first[0].state, "healthy");
  EXPECT_EQ(v.newest_first[0].unix_seconds, now);
  EXPECT_EQ(v.newest_first[1].state, "unhealthy");
  EXPECT_EQ(v.newest_first[1].unix_seconds, now - 5);
  EXPECT_EQ(v.newest_first[1].detail, "/health failed 2 times");
  EXPECT_EQ(v.dropped, 0u);
}

TEST_F(StatusEventsTest, BoundedOldestDroppedAndCounted) {
  for (int i = 0; i < 7; ++i) {
    now += 1;
    events.record(EventKind::Reload, "config", "reloaded", "version " + std::to_string(i));
  }
  auto v = events.view();
  ASSERT_EQ(v.newest_first.size(), 4u);
  EXPECT_EQ(v.newest_first.front().detail, "version 6");
  EXPECT_EQ(v.newest_first.back().detail, "version 3");
  EXPECT_EQ(v.dropped, 3u);
}

TEST_F(StatusEventsTest, TheSameStateTwiceIsOneEventButReloadsAlwaysCount) {
  // Two workers seeing one breaker open: one event.
  events.record(EventKind::Circuit, "api a:1", "open", "");
  events.record(EventKind::Circuit, "api a:1", "open", "");
  events.record(EventKind::Circuit, "api b:2", "open", "");       // another subject
  events.record(EventKind::TargetHealth, "api a:1", "open", "");  // another kind
  events.record(EventKind::Circuit, "api a:1", "closed", "");
  events.record(EventKind::Circuit, "api a:1", "open", "");  // a new transition
  EXPECT_EQ(states(), (std::vector<std::string>{"api a:1 open", "api a:1 closed", "api a:1 open",
                                                "api b:2 open"}));
  // Capacity 4: a:1's first open left the ring; the duplicate never entered it.
  EXPECT_EQ(events.view().dropped, 1u);
  // Long after, the same state is news (the subject came back unreported, e.g. a target removed
  // by a reload and added again).
  now += 60;
  events.record(EventKind::Circuit, "api a:1", "open", "");
  EXPECT_EQ(states().front(), "api a:1 open");
  EXPECT_EQ(events.view().dropped, 2u);
  StatusEvents reloads{[this] { return now; }, 10};
  reloads.record(EventKind::Reload, "config", "reloaded", "version 2");
  reloads.record(EventKind::Reload, "config", "reloaded", "version 3");
  EXPECT_EQ(reloads.view().newest_first.size(), 2u);
}

TEST_F(StatusEventsTest, ScheduledEventAppearsWhenDueInTimeOrder) {
  events.record(EventKind::TargetEjection, "api a:1", "ejected", "for 10 s");
  events.schedule(EventKind::TargetEjection, "api a:1", "returned", "", 10);
  now += 4;
  EXPECT_EQ(states(), (std::vector<std::string>{"api a:1 ejected"}));
  now += 3;
  events.record(EventKind::Circuit, "api b:2", "open", "");  // at +7
  now += 20;
  auto v = events.view();
  ASSERT_EQ(v.newest_first.size(), 3u);
  // The return is stamped when the ejection ended (+10), after the open at +7.
  EXPECT_EQ(v.newest_first[0].state, "returned");
  EXPECT_EQ(v.newest_first[0].unix_seconds, now - 17);
  EXPECT_EQ(v.newest_first[1].state, "open");
  EXPECT_EQ(v.newest_first[2].state, "ejected");
}

TEST_F(StatusEventsTest, ALinkIsLostOnceAndRegainedWhenEveryConnectionIsBack) {
  const std::string url = "redis://127.0.0.1:6379";
  events.recordLink(EventKind::RateLimitStore, url, true, "");  // first connect: nothing
  EXPECT_TRUE(states().empty());
  events.recordLink(EventKind::RateLimitStore, url, false, "connection lost");  // worker 1
  events.recordLink(EventKind::RateLimitStore, url, false, "connection lost");  // worker 2
  events.recordLink(EventKind::RateLimitStore, url, true, "");                  // worker 1 back
  EXPECT_EQ(states(), (std::vector<std::string>{url + " lost"}));
  events.recordLink(EventKind::RateLimitStore, url, true, "");  // worker 2 back
  EXPECT_EQ(states(), (std::vector<std::string>{url + " regained", url + " lost"}));
  events.recordLink(EventKind::RateLimitStore, url, true, "");  // no more: still one pair
  EXPECT_EQ(states().size(), 2u);
}

TEST_F(StatusEventsTest, RendersUtcAgoAndJson) {
  events.record(EventKind::Reload, "config", "reload failed", "sluice.yaml:3:1: <bad> \xff");
  now += 42;
  auto v = events.view();
  std::string html = renderEventsHtml(v, now);
  EXPECT_NE(html.find("id=\"events\""), std::string::npos);
  EXPECT_NE(html.find("2027-01-15 08:00:00 UTC"), std::string::npos);
  EXPECT_NE(html.find("42s ago"), std::string::npos);
  EXPECT_NE(html.find("&lt;bad&gt;"), std::string::npos);
  EXPECT_NE(html.find("class=\"bad\">reload failed"), std::string::npos);
  nlohmann::json j = nlohmann::json::object();
  appendEventsJson(j, v, now);
  ASSERT_EQ(j["events"].size(), 1u);
  EXPECT_EQ(j["events"][0]["time_utc"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(j["events"][0]["ago_seconds"], 42.0);
  EXPECT_EQ(j["events"][0]["kind"], "config");
  EXPECT_EQ(j["events"][0]["detail"], "sluice.yaml:3:1: <bad> ?");
  EXPECT_EQ(j["events_dropped"], 0);
  EXPECT_NO_THROW(j.dump());
}

// Workers record at once: the transitions they share are one event each, a link lost by all of
// them is one outage, and nothing is lost or torn (run under ASan/UBSan).
TEST(StatusEventsThreads, WorkersRecordingAtOnce) {
  std::atomic<double> clock{1'800'000'000};
  StatusEvents events{[&] { return clock.load(); }, 1000};
  constexpr int kThreads = 8, kTargets = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTargets; ++i) {
        // Every worker sees every breaker open; each worker reports its own reloads.
        events.record(EventKind::Circuit, "api t" + std::to_string(i), "open", "");
        if (i % 10 == 0) events.record(EventKind::Reload, "config", "reloaded", std::to_string(t));
      }
      events.recordLink(EventKind::RateLimitStore, "redis://r", false,
                        "lost by " + std::to_string(t));
      events.view();
      events.recordLink(EventKind::RateLimitStore, "redis://r", true, "");
    });
  }
  for (auto& th : threads) th.join();
  auto v = events.view();
  int open = 0, reloads = 0, lost = 0, regained = 0;
  for (const StatusEvent& e : v.newest_first) {
    open += e.state == "open";
    reloads += e.state == "reloaded";
    lost += e.state == "lost";
    regained += e.state == "regained";
  }
  EXPECT_EQ(open, kTargets);
  EXPECT_EQ(reloads, kThreads * kTargets / 10);
  // Connections may come back between others going down: at least one outage, each a pair.
  EXPECT_GE(lost, 1);
  EXPECT_EQ(lost, regained);
  for (const StatusEvent& e : v.newest_first) {  // every connection ended up: the last is back
    if (e.kind != EventKind::RateLimitStore) continue;
    EXPECT_EQ(e.state, "regained");
    break;
  }
  EXPECT_EQ(v.dropped, 0u);
}

}  // namespace
}  // namespace sluice::proxy
