// The status page and /status.json rendered from a hand-made model: one chart per route and
// upstream whose lines follow the windows, the refresh interval, the JSON fields.
#include "proxy/admin/status_page.h"

#include <gtest/gtest.h>

#include "proxy/admin/status_charts.h"
#include "proxy/admin/status_json.h"

namespace sluice::proxy {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

StatusModel model(int64_t now_ms, const StatusSeries& busy) {
  StatusModel m;
  m.version = 3;
  m.generated_at = 1.7e9;
  StatusModel::Route a{"api", "prefix /api", "pool", {"cors"}, 10, 1, viewOf({&busy}, now_ms)};
  StatusModel::Route b{"<idle>", "", "(respond)", {}, 0, 0, viewOf({}, now_ms)};
  m.routes = {a, b};
  StatusModel::Upstream u{"pool", "round_robin", {}, viewOf({&busy}, now_ms)};
  StatusModel::Target t;
  t.address = "127.0.0.1:8080";
  t.health = 0;
  t.window = viewOf({&busy}, now_ms);
  u.targets.push_back(t);
  m.upstreams = {u};
  return m;
}

TEST(StatusPage, OneChartPerRouteAndUpstreamAndTheSections) {
  StatusSeries s(1, 0);
  std::string page = renderStatusPage(model(600'000, s), "<h2 id=\"extra\">x</h2>", 2);
  for (const char* id : {"listeners", "routes", "route-charts", "upstreams", "upstream-charts",
                         "ratelimits", "extra"}) {
    EXPECT_NE(page.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  }
  EXPECT_EQ(count(page, "<svg class=\"chart\""), 3u);
  EXPECT_NE(page.find("data-route=\"api\""), std::string::npos);
  EXPECT_NE(page.find("data-route=\"&lt;idle&gt;\""), std::string::npos) << "escaped";
  EXPECT_NE(page.find("<svg class=\"chart\" data-upstream=\"pool\""), std::string::npos);
  EXPECT_EQ(count(page, "class=\"line\""), 9u) << "three panels per chart";
  EXPECT_NE(page.find("data-refresh=\"2\""), std::string::npos);
  EXPECT_NE(page.find("<noscript><meta http-equiv=\"refresh\" content=\"2\">"), std::string::npos);
  EXPECT_EQ(page.find("src="), std::string::npos) << "no external script or image";
  EXPECT_EQ(page.find("href="), std::string::npos);
}

TEST(StatusPage, ChartLinesMoveWithTraffic) {
  StatusSeries s(1, 0);
  int64_t now = 600'000;
  std::string quiet = renderChart(viewOf({&s}, now), "route", "api");
  for (int i = 0; i < 50; ++i) s.record(0, now, i < 5 ? 500 : 200, 0.020);
  std::string busy = renderChart(viewOf({&s}, now), "route", "api");
  EXPECT_NE(quiet, busy);
  // The rate line ends at the top of its panel (the largest value), the quiet one at the bottom.
  auto pathOf = [](const std::string& svg, const std::string& panel) {
    size_t p = svg.find("data-panel=\"" + panel + "\"");
    size_t d = svg.find(" d=\"", p);
    return svg.substr(d + 4, svg.find('"', d + 4) - d - 4);
  };
  EXPECT_TRUE(pathOf(quiet, "rate").ends_with(" 50.0")) << pathOf(quiet, "rate");
  EXPECT_TRUE(pathOf(busy, "rate").ends_with(" 0.0")) << pathOf(busy, "rate");
  EXPECT_EQ(pathOf(quiet, "p99"), "") << "no samples: nothing drawn";
  EXPECT_NE(pathOf(busy, "p99"), "");
}

TEST(StatusCharts, PathScalesAndBreaksAtGaps) {
  double v[] = {0, 5, -1, 10, 20};
  EXPECT_EQ(chartPath(v, 5, 10, 40, 10), "M0.0 10.0 L10.0 5.0 M30.0 0.0 L40.0 0.0");
  double alone[] = {-1, 4, -1, 2};
  EXPECT_EQ(chartPath(alone, 4, 4, 30, 10), "M10.0 0.0 h2 M30.0 5.0 h-2");
  double none[] = {-1, -1};
  EXPECT_EQ(chartPath(none, 2, 1, 10, 10), "");
}

TEST(StatusPage, RefreshQuery) {
  EXPECT_EQ(statusRefreshSeconds(""), kStatusRefreshSeconds);
  EXPECT_EQ(statusRefreshSeconds("refresh=1"), 1);
  EXPECT_EQ(statusRefreshSeconds("a=b&refresh=30"), 30);
  EXPECT_EQ(statusRefreshSeconds("refresh=0"), kStatusRefreshSeconds);
  EXPECT_EQ(statusRefreshSeconds("refresh=99999"), kStatusRefreshSeconds);
  EXPECT_EQ(statusRefreshSeconds("refresh=2x"), kStatusRefreshSeconds);
}

TEST(StatusJson, RoutesTargetsWindowsAndSeries) {
  StatusSeries s(1, 0);
  int64_t now = 600'000;
  for (int i = 0; i < 12; ++i) s.record(0, now - 2'000, i < 3 ? 503 : 200, 0.004);
  nlohmann::json j = statusJson(model(now, s));
  EXPECT_EQ(j["config_version"], 3);
  ASSERT_EQ(j["routes"].size(), 2u);
  const auto& api = j["routes"][0];
  EXPECT_EQ(api["name"], "api");
  EXPECT_EQ(api["windows"]["1m"]["requests"], 12);
  EXPECT_EQ(api["windows"]["1m"]["status_5xx"], 3);
  EXPECT_DOUBLE_EQ(api["windows"]["1m"]["share_5xx"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(api["windows"]["1m"]["seconds"].get<double>(), 55);
  EXPECT_TRUE(api["windows"]["5m"]["p99_ms"].is_number());
  EXPECT_TRUE(j["routes"][1]["windows"]["1m"]["p50_ms"].is_null());
  ASSERT_EQ(api["series"]["rate"].size(), static_cast<size_t>(kWindowSlots));
  EXPECT_EQ(api["series"]["requests"][kWindowSlots - 2], 12);
  EXPECT_EQ(api["series"]["step_seconds"], 5);
  const auto& target = j["upstreams"][0]["targets"][0];
  EXPECT_EQ(target["health"], "unhealthy");
  EXPECT_TRUE(target["circuit"].is_null());
  EXPECT_DOUBLE_EQ(target["error_share"].get<double>(), 0.25);
  EXPECT_EQ(j["upstreams"][0]["windows"]["5m"]["requests"], 12);
  for (const char* k : {"listeners", "ratelimits", "generated_at", "draining"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
}

}  // namespace
}  // namespace sluice::proxy
