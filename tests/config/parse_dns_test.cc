// Tests for config/parse_dns.cc: `resolver:` servers and `srv:` targets, and what `sluice -t`
// reports about them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"

namespace sluice::config {
namespace {

using ::testing::HasSubstr;

LoadResult load(const std::string& upstream_targets, const std::string& extra = "") {
  return loadString(extra + R"(
listeners: [{name: public, address: 127.0.0.1:8080}]
upstreams:
  - name: api
    targets: )" + upstream_targets +
                        R"(
routes: [{name: all, upstream: api}]
)",
                    "sluice.yaml");
}

std::string errors(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.errors) out += d.text() + "\n";
  return out;
}

TEST(ParseDns, SrvTargetAndResolverServers) {
  auto r = load("[{srv: _http._tcp.api.internal}, {address: api.internal:8080, weight: 2}]",
                "resolver: {servers: [\"127.0.0.1:5353\", \"[::1]:53\"]}\n");
  ASSERT_TRUE(r.config) << errors(r);
  const Upstream& u = r.config->upstreams.at(0);
  ASSERT_EQ(u.targets.size(), 2u);
  EXPECT_EQ(u.targets[0].srv, "_http._tcp.api.internal");
  EXPECT_TRUE(u.targets[0].address.empty());
  EXPECT_EQ(u.targets[1].srv, "");
  EXPECT_EQ(u.targets[1].weight, 2u);
  ASSERT_TRUE(r.config->resolver);
  ASSERT_EQ(r.config->resolver->servers.size(), 2u);
  EXPECT_EQ(r.config->resolver->servers[0].text(), "127.0.0.1:5353");
  EXPECT_EQ(r.config->resolver->servers[1].text(), "[::1]:53");
}

TEST(ParseDns, NoResolverByDefault) {
  auto r = load("[{address: 127.0.0.1:9001}]");
  ASSERT_TRUE(r.config) << errors(r);
  EXPECT_FALSE(r.config->resolver);
}

TEST(ParseDns, SrvWithAddressOrWeightIsAnError) {
  auto r = load("[{srv: _http._tcp.api, weight: 2}]");
  EXPECT_FALSE(r.config);
  EXPECT_THAT(errors(r), HasSubstr("takes its addresses, ports and weights from the SRV records"));
  r = load("[{srv: _http._tcp.api, address: 127.0.0.1:80}]");
  EXPECT_THAT(errors(r), HasSubstr("takes its addresses, ports and weights from the SRV records"));
}

TEST(ParseDns, BadSrvNamesAndServers) {
  auto r = load("[{srv: \"_http._tcp.api:80\"}]");
  EXPECT_THAT(errors(r), HasSubstr("srv: \"_http._tcp.api:80\" is not a DNS name"));
  r = load("[{srv: \"a..b\"}]");
  EXPECT_THAT(errors(r), HasSubstr("is not a DNS name"));
  r = load("[{address: 127.0.0.1:1}]", "resolver: {servers: [dns.internal:53]}\n");
  EXPECT_THAT(errors(r), HasSubstr("servers[0]: \"dns.internal\" is not an IP address"));
  r = load("[{address: 127.0.0.1:1}]", "resolver: {servers: []}\n");
  EXPECT_THAT(errors(r), HasSubstr("servers: list at least one ip:port"));
  r = load("[{address: 127.0.0.1:1}]", "resolver: {servers: [127.0.0.1]}\n");
  EXPECT_THAT(errors(r), HasSubstr("has no port"));
  r = load("[{}]");
  EXPECT_THAT(errors(r), HasSubstr("{srv: _http._tcp.api}"));
}

}  // namespace
}  // namespace sluice::config
