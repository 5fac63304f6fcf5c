// Tests for config/parse_route_target.cc (weighted split, sticky key, redirect), through the
// loader so that the route-level rules and the cross-checks run too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/json_dump.h"
#include "config/loader.h"

namespace sluice::config {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Loaded {
  LoadResult result;
  std::vector<std::string> errors;
};

// A config with upstreams v1, v2 and v3 and the one route written in `route` (a YAML flow map).
Loaded load(const std::string& route) {
  std::string yaml =
      "listeners: [{name: public, address: \"127.0.0.1:8080\"}]\n"
      "upstreams:\n"
      "  - {name: v1, targets: [{address: \"127.0.0.1:9001\"}]}\n"
      "  - {name: v2, targets: [{address: \"127.0.0.1:9002\"}]}\n"
      "  - {name: v3, targets: [{address: \"127.0.0.1:9003\"}], circuit_breaker: {}}\n"
      "routes:\n"
      "  - " +
      route + "\n";
  Loaded l{loadString(yaml, "s.yaml"), {}};
  for (const auto& d : l.result.errors) l.errors.push_back(d.text());
  return l;
}

const Route& route(const Loaded& l) {
  return l.result.config->routes.at(0);
}

TEST(ParseSplit, WeightsAndSticky) {
  auto l = load(
      "{name: r, upstreams: [{name: v1, weight: 90}, {name: v2, weight: 10}, {name: v3, "
      "weight: 0}], sticky: {key: \"cookie:session\"}}");
  ASSERT_THAT(l.errors, IsEmpty());
  const Route& r = route(l);
  EXPECT_TRUE(r.upstream.empty());
  ASSERT_EQ(r.upstreams.size(), 3u);
  EXPECT_EQ(r.upstreams[0].name, "v1");
  EXPECT_EQ(r.upstreams[0].weight, 90u);
  EXPECT_EQ(r.upstreams[1].weight, 10u);
  EXPECT_EQ(r.upstreams[2].weight, 0u);  // allowed: no traffic (a side kept ready)
  EXPECT_EQ(r.sticky_key, "cookie:session");
}

TEST(ParseSplit, DumpShowsTheSplitAndTheRedirect) {
  auto l = load("{name: r, upstreams: [{name: v1, weight: 3}], sticky: {key: ip}}");
  ASSERT_THAT(l.errors, IsEmpty());
  EXPECT_THAT(
      toJson(*l.result.config),
      HasSubstr("\"upstreams\":[{\"name\":\"v1\",\"weight\":3}],\"sticky\":{\"key\":\"ip\"},"
                "\"redirect\":null"));
  auto d = load("{name: r, redirect: {to: /x, status: 307}}");
  ASSERT_THAT(d.errors, IsEmpty());
  std::string json = toJson(*d.result.config);
  EXPECT_THAT(json, HasSubstr("\"upstreams\":null,\"sticky\":null,\"redirect\":{\"scheme\":null,"
                              "\"host\":null,\"to\":\"/x\",\"status\":307}"));
  // The dump loads again as the same config.
  auto again = loadString(json, "dump.json");
  ASSERT_TRUE(again.config) << again.errors.at(0).text();
  EXPECT_EQ(toJson(*again.config), json);
  auto split = toJson(*l.result.config);
  auto split_again = loadString(split, "dump.json");
  ASSERT_TRUE(split_again.config) << split_again.errors.at(0).text() << "\n" << split;
  EXPECT_EQ(toJson(*split_again.config), split);
}

TEST(ParseSplit, WeightDefaultsToOneAndStickyKeysNormalise) {
  auto l =
      load("{name: r, upstreams: [{name: v1}, {name: v2}], sticky: {key: \"header:X-User+ip\"}}");
  ASSERT_THAT(l.errors, IsEmpty());
  EXPECT_EQ(route(l).upstreams[0].weight, 1u);
  EXPECT_EQ(route(l).sticky_key, "header:x-user+ip");
}

TEST(ParseSplit, Errors) {
  EXPECT_THAT(load("{name: r, upstreams: [{name: v1}, {name: nope}]}").errors,
              Contains("s.yaml:7:46: upstream \"nope\" is not defined; use one of: v1, v2, v3 (or "
                       "add it under upstreams:)"));
  EXPECT_THAT(load("{name: r, upstreams: [{name: v1, weight: 0}, {name: v2, weight: 0}]}").errors,
              Contains(HasSubstr("every weight is 0")));
  EXPECT_THAT(load("{name: r, upstreams: [{name: v1}, {name: v1}]}").errors,
              Contains(HasSubstr("\"v1\" is listed twice")));
  EXPECT_THAT(load("{name: r, upstreams: []}").errors, Contains(HasSubstr("the list is empty")));
  EXPECT_THAT(load("{name: r, upstreams: [{weight: 3}]}").errors,
              Contains(HasSubstr("needs \"name\"")));
  EXPECT_THAT(load("{name: r, upstreams: [{name: v1, weight: -1}]}").errors,
              Contains(HasSubstr("weight")));
  EXPECT_THAT(load("{name: r, upstreams: [{name: v1}], sticky: {key: consumer}}").errors,
              Contains(HasSubstr("is not a request key; write ip, header:NAME")));
  EXPECT_THAT(load("{name: r, upstream: v1, sticky: {key: ip}}").errors,
              Contains(HasSubstr("sticky keeps a key on one side of a weighted split")));
  EXPECT_THAT(load("{name: r, upstream: v1, upstreams: [{name: v2}]}").errors,
              Contains("s.yaml:7:29: a route has one of upstream, upstreams, respond or redirect, "
                       "but this one has upstream and upstreams; keep one of them"));
}

TEST(ParseSplit, CircuitBreakerFilterIsRefusedOnASplit) {
  auto l = load("{name: r, upstreams: [{name: v3}], filters: [{circuit_breaker: {}}]}");
  EXPECT_THAT(l.errors, Contains(HasSubstr("this route splits its requests across upstreams:")));
}

TEST(ParseRedirect, SchemeAndHost) {
  auto l = load("{name: r, redirect: {scheme: HTTPS, host: WWW.example.com:8443, status: 308}}");
  ASSERT_THAT(l.errors, IsEmpty());
  const Redirect& d = *route(l).redirect;
  EXPECT_EQ(d.scheme, "https");
  EXPECT_EQ(d.host, "www.example.com:8443");
  EXPECT_FALSE(d.to);
  EXPECT_EQ(d.status, 308);
}

TEST(ParseRedirect, ToWithVariablesDefaultsTo302) {
  auto l = load("{name: r, redirect: {to: \"https://docs.example.com${path}?${query}\"}}");
  ASSERT_THAT(l.errors, IsEmpty());
  EXPECT_EQ(route(l).redirect->to, "https://docs.example.com${path}?${query}");
  EXPECT_EQ(route(l).redirect->status, 302);
}

TEST(ParseRedirect, Errors) {
  EXPECT_THAT(load("{name: r, redirect: {to: \"https://x${pth}\"}}").errors,
              Contains(::testing::StartsWith("s.yaml:7:30: to: unknown variable ${pth}")));
  EXPECT_THAT(load("{name: r, redirect: {scheme: https, status: 200}}").errors,
              Contains("s.yaml:7:49: status: 200 is not a redirect status; write 301, 302, 303, "
                       "307 or 308"));
  EXPECT_THAT(load("{name: r, redirect: {scheme: ftp}}").errors,
              Contains(HasSubstr("scheme: \"ftp\" is not a scheme; write http or https")));
  EXPECT_THAT(load("{name: r, redirect: {to: /x, host: a.example}}").errors,
              Contains(HasSubstr("it excludes scheme and host")));
  EXPECT_THAT(load("{name: r, redirect: {status: 301}}").errors,
              Contains(HasSubstr("redirect needs to, or scheme and/or host")));
  EXPECT_THAT(load("{name: r, redirect: {host: \"a b\"}}").errors,
              Contains(HasSubstr("is not a host")));
  EXPECT_THAT(load("{name: r, respond: {status: 200}, redirect: {scheme: https}}").errors,
              Contains(HasSubstr("but this one has respond and redirect")));
  EXPECT_THAT(load("{name: r, redirect: {scheme: https}, filters: [{circuit_breaker: {}}]}").errors,
              Contains(HasSubstr("this route answers with redirect:")));
}

}  // namespace
}  // namespace sluice::config
