// Tests for config/parse_discovery.cc: an upstream's `discovery: {etcd: ...}`, its defaults, and
// what `sluice -t` reports about it (exclusive with `targets`, endpoints, prefix, backoff).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/json_dump.h"
#include "config/loader.h"

namespace sluice::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

LoadResult load(const std::string& upstream_body) {
  return loadString(R"(
listeners: [{name: public, address: 127.0.0.1:8080}]
upstreams:
  - name: api
)" + upstream_body + R"(
routes: [{name: all, upstream: api}]
)",
                    "sluice.yaml");
}

std::string errors(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.errors) out += d.text() + "\n";
  return out;
}

TEST(ParseDiscovery, EtcdWithDefaults) {
  auto r = load(
      "    discovery: {etcd: {endpoints: [\"127.0.0.1:2379\", \"etcd.internal:2379\"], prefix: "
      "/services/api/}}");
  ASSERT_TRUE(r.config) << errors(r);
  const Upstream& u = r.config->upstreams.at(0);
  EXPECT_TRUE(u.targets.empty());  // no static target needed
  ASSERT_TRUE(u.discovery);
  const EtcdDiscovery& e = u.discovery->etcd;
  ASSERT_EQ(e.endpoints.size(), 2u);
  EXPECT_EQ(e.endpoints[0].text(), "127.0.0.1:2379");
  EXPECT_EQ(e.endpoints[1].text(), "etcd.internal:2379");
  EXPECT_EQ(e.prefix, "/services/api/");
  EXPECT_EQ(e.timeout, Duration(2'000));
  EXPECT_EQ(e.backoff.base, Duration(200));
  EXPECT_EQ(e.backoff.max, Duration(5'000));
}

TEST(ParseDiscovery, TimeoutAndBackoff) {
  auto r = load(
      "    discovery:\n      etcd:\n        endpoints: [\"127.0.0.1:2379\"]\n        prefix: /s/\n"
      "        timeout: 500ms\n        backoff: {base: 50ms, max: 2s}");
  ASSERT_TRUE(r.config) << errors(r);
  const EtcdDiscovery& e = r.config->upstreams.at(0).discovery->etcd;
  EXPECT_EQ(e.timeout, Duration(500));
  EXPECT_EQ(e.backoff.base, Duration(50));
  EXPECT_EQ(e.backoff.max, Duration(2'000));
}

TEST(ParseDiscovery, SameSectionsCompareEqual) {
  auto a = load("    discovery: {etcd: {endpoints: [\"127.0.0.1:2379\"], prefix: /a/}}");
  auto b = load("    discovery: {etcd: {endpoints: [\"127.0.0.1:2379\"], prefix: /a/}}");
  auto c = load("    discovery: {etcd: {endpoints: [\"127.0.0.1:2379\"], prefix: /b/}}");
  ASSERT_TRUE(a.config && b.config && c.config);
  EXPECT_TRUE(*a.config->upstreams[0].discovery == *b.config->upstreams[0].discovery);
  EXPECT_FALSE(*a.config->upstreams[0].discovery == *c.config->upstreams[0].discovery);
}

TEST(ParseDiscovery, DumpWritesTheSectionAndLoadsBack) {
  auto r = load(
      "    discovery: {etcd: {endpoints: [\"127.0.0.1:2379\"], prefix: /s/, timeout: 1s, "
      "backoff: {base: 100ms, max: 2s}}}");
  ASSERT_TRUE(r.config) << errors(r);
  std::string json = toJson(*r.config);
  EXPECT_THAT(json, HasSubstr("\"discovery\":{\"etcd\":{\"endpoints\":[\"127.0.0.1:2379\"],"
                              "\"prefix\":\"/s/\",\"timeout\":\"1s\",\"backoff\":{\"base\":"
                              "\"100ms\",\"max\":\"2s\"}}}"));
  EXPECT_THAT(json, Not(HasSubstr("\"targets\"")));  // exclusive with discovery
  auto again = loadString(json, "dump.json");
  ASSERT_TRUE(again.config) << errors(again) << json;
  EXPECT_EQ(toJson(*again.config), json);
}

TEST(ParseDiscovery, TargetsAndDiscoveryAreExclusive) {
  auto r = load(
      "    targets: [{address: 127.0.0.1:9001}]\n"
      "    discovery: {etcd: {endpoints: [\"127.0.0.1:2379\"], prefix: /a/}}");
  EXPECT_FALSE(r.config);
  EXPECT_THAT(errors(r), HasSubstr("sluice.yaml:5:5: targets and discovery are exclusive"));
}

TEST(ParseDiscovery, BadEndpointMissingPrefixAndUnknownKey) {
  auto r = load("    discovery: {etcd: {endpoints: [\"127.0.0.1\"], timout: 1s}}");
  EXPECT_FALSE(r.config);
  std::string e = errors(r);
  EXPECT_THAT(e, HasSubstr("endpoints[0]:"));
  EXPECT_THAT(e, HasSubstr("etcd needs \"prefix\""));
  EXPECT_THAT(e, HasSubstr("unknown key \"timout\""));
}

TEST(ParseDiscovery, EmptyEndpointsBadPrefixAndBackoff) {
  auto r =
      load("    discovery: {etcd: {endpoints: [], prefix: \"a b\", backoff: {base: 2s, max: 1s}}}");
  EXPECT_FALSE(r.config);
  std::string e = errors(r);
  EXPECT_THAT(e, HasSubstr("endpoints: list at least one host:port"));
  EXPECT_THAT(e, HasSubstr("is not a key prefix"));
  EXPECT_THAT(e, HasSubstr("backoff: max 1s is below base 2s"));
}

TEST(ParseDiscovery, OnlyEtcdIsKnown) {
  auto r = load("    discovery: {zookeeper: {hosts: [\"127.0.0.1:2181\"]}}");
  EXPECT_FALSE(r.config);
  EXPECT_THAT(errors(r), HasSubstr("unknown key \"zookeeper\" in discovery"));
}

TEST(ParseDiscovery, StaticUpstreamStillNeedsTargets) {
  auto r = load("    balancer: round_robin");
  EXPECT_FALSE(r.config);
  EXPECT_THAT(errors(r), HasSubstr("upstream needs \"targets\""));
}

}  // namespace
}  // namespace sluice::config
