#include "proxy/stream/route_split.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "proxy/runtime/snapshot.h"

namespace sluice::proxy {
namespace {

struct Fixture {
  config::Config config;
  config::Route route;
  Fixture(std::optional<std::string> sticky) {
    for (const char* n : {"other", "v1", "v2"}) {
      config::Upstream u;
      u.name = n;
      config.upstreams.push_back(u);
    }
    route.name = "r";
    route.upstreams = {{"v1", 90}, {"v2", 10}};
    route.sticky_key = std::move(sticky);
  }
};

base::RequestHead request(std::string cookie) {
  base::RequestHead h;
  h.method = "GET";
  h.target = "/";
  if (!cookie.empty()) h.headers.add("cookie", std::move(cookie));
  return h;
}

TEST(RouteSplit, SidesAreSnapshotUpstreamIndexes) {
  Fixture f(std::nullopt);
  std::string error;
  auto split = RouteSplit::build(f.config, f.route, error);
  ASSERT_TRUE(split) << error;
  filters::StreamInfo info;
  EXPECT_EQ(split->choose(request(""), info, 0), 1);             // v1 (index 1 of upstreams)
  EXPECT_EQ(split->choose(request(""), info, ~uint64_t{0}), 2);  // the top 10%: v2
}

TEST(RouteSplit, StickyCookieDecidesAndItsAbsenceFallsBackToWeights) {
  Fixture f(std::string("cookie:sid"));
  std::string error;
  auto split = RouteSplit::build(f.config, f.route, error);
  ASSERT_TRUE(split) << error;
  filters::StreamInfo info;
  std::set<int> sides;
  for (int k = 0; k < 200; ++k) {
    auto head = request("sid=key-" + std::to_string(k));
    int side = split->choose(head, info, 0);
    // The random draw no longer matters once the key has a value.
    EXPECT_EQ(split->choose(head, info, ~uint64_t{0}), side);
    sides.insert(side);
  }
  EXPECT_EQ(sides, (std::set<int>{1, 2}));
  // No sid cookie: by weight, from the draw.
  EXPECT_EQ(split->choose(request("other=1"), info, 0), 1);
  EXPECT_EQ(split->choose(request("other=1"), info, ~uint64_t{0}), 2);
}

TEST(RouteSplit, UnknownSideIsAnError) {
  Fixture f(std::nullopt);
  f.route.upstreams.push_back({"nope", 1});
  std::string error;
  EXPECT_FALSE(RouteSplit::build(f.config, f.route, error));
  EXPECT_EQ(error, "route r: unknown upstream nope");
}

TEST(RouteSplit, ChooseUpstreamOfAPlainRoute) {
  RouteRuntime plain;
  plain.upstream = 3;
  filters::StreamInfo info;
  EXPECT_EQ(chooseUpstream(plain, request(""), info), 3);
  RouteRuntime answered;  // respond: / redirect:
  EXPECT_EQ(chooseUpstream(answered, request(""), info), -1);
}

}  // namespace
}  // namespace sluice::proxy
