// Tests for config/parse_mirror.cc: a route's `mirror:` values, defaults and errors, and that
// its upstream is cross-checked like the route's own (through the whole loader).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/json_dump.h"
#include "config/loader.h"
#include "config/sections.h"

namespace sluice::config {
namespace {

struct MirrorResult {
  Mirror mirror;
  std::vector<std::string> errors;
  RouteRefs refs;
};

MirrorResult parse(const std::string& yaml) {
  MirrorResult p;
  std::vector<Diagnostic> diags;
  Reader r("f.yaml", &diags);
  p.mirror = parseMirror(r, YAML::Load(yaml), &p.refs);
  for (const auto& d : diags) p.errors.push_back(d.text());
  return p;
}

TEST(ParseMirror, Defaults) {
  auto p = parse("{upstream: next}");
  EXPECT_THAT(p.errors, ::testing::IsEmpty());
  EXPECT_EQ(p.mirror.upstream, "next");
  EXPECT_DOUBLE_EQ(p.mirror.percent, 100);
  EXPECT_FALSE(p.mirror.compare);
  EXPECT_EQ(p.mirror.max_in_flight, 64u);
  ASSERT_EQ(p.refs.filter_upstreams.size(), 1u);  // checked once every file is merged
  EXPECT_EQ(p.refs.filter_upstreams[0].second, "next");
}

TEST(ParseMirror, AllKeys) {
  auto p = parse("{upstream: next, percent: 12.5, compare: true, max_in_flight: 3}");
  EXPECT_THAT(p.errors, ::testing::IsEmpty());
  EXPECT_DOUBLE_EQ(p.mirror.percent, 12.5);
  EXPECT_TRUE(p.mirror.compare);
  EXPECT_EQ(p.mirror.max_in_flight, 3u);
}

TEST(ParseMirror, Errors) {
  EXPECT_THAT(parse("{percent: 5}").errors,
              ::testing::ElementsAre(::testing::HasSubstr("mirror needs \"upstream\"")));
  EXPECT_THAT(parse("{upstream: n, percent: 101}").errors,
              ::testing::ElementsAre(::testing::HasSubstr("percent")));
  EXPECT_THAT(parse("{upstream: n, percent: -1}").errors,
              ::testing::ElementsAre(::testing::HasSubstr("percent")));
  EXPECT_THAT(parse("{upstream: n, compare: maybe}").errors,
              ::testing::ElementsAre(::testing::HasSubstr("compare")));
  EXPECT_THAT(parse("{upstream: n, max_in_flight: 0}").errors,
              ::testing::ElementsAre(::testing::HasSubstr("max_in_flight")));
  EXPECT_THAT(parse("{upstream: n, shadow: true}").errors,
              ::testing::ElementsAre(::testing::HasSubstr("shadow")));
  EXPECT_THAT(parse("next").errors, ::testing::SizeIs(1));  // not a map
}

const char* kConfig = R"(listeners: [{name: public, address: "127.0.0.1:8080"}]
upstreams:
  - {name: api, targets: [{address: "127.0.0.1:9001"}]}
  - {name: next, targets: [{address: "127.0.0.1:9002"}]}
routes:
  - name: all
    upstream: api
    mirror: {upstream: %s, percent: 5, compare: true}
)";

std::string config(const char* mirror_upstream) {
  char buf[1024];
  std::snprintf(buf, sizeof buf, kConfig, mirror_upstream);
  return buf;
}

TEST(ParseMirror, LoadsIntoTheRoute) {
  auto r = loadString(config("next"), "/etc/sluice/sluice.yaml", LoadOptions{false, nullptr});
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].text());
  ASSERT_TRUE(r.config->routes[0].mirror);
  EXPECT_EQ(r.config->routes[0].mirror->upstream, "next");
  EXPECT_DOUBLE_EQ(r.config->routes[0].mirror->percent, 5);
  EXPECT_TRUE(r.config->routes[0].mirror->compare);
}

TEST(ParseMirror, ShownInTheEffectiveConfig) {
  auto r = loadString(config("next"), "/etc/sluice/sluice.yaml", LoadOptions{false, nullptr});
  ASSERT_TRUE(r.config);
  EXPECT_THAT(toJson(*r.config),
              ::testing::HasSubstr("\"mirror\":{\"upstream\":\"next\",\"percent\":5,"
                                   "\"compare\":true,\"max_in_flight\":64}"));
}

TEST(ParseMirror, AnUndefinedUpstreamIsReportedAtItsName) {
  auto r = loadString(config("nowhere"), "/etc/sluice/sluice.yaml", LoadOptions{false, nullptr});
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 8);
  EXPECT_THAT(r.errors[0].text(), ::testing::HasSubstr("upstream \"nowhere\" is not defined"));
}

}  // namespace
}  // namespace sluice::config
