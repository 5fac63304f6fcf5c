// Tests for proxy/upstream/target_expansion.h: SRV records to the usable set (RFC 2782 priority
// and weights), a name's addresses to targets keyed by ip:port, and an upstream's config targets
// expanded to every address with the right weights.
#include "proxy/upstream/target_expansion.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

sockaddr_storage v4(const char* ip, uint16_t port = 0) {
  sockaddr_storage s{};
  auto* a = reinterpret_cast<sockaddr_in*>(&s);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  inet_pton(AF_INET, ip, &a->sin_addr);
  return s;
}

sockaddr_storage v6(const char* ip) {
  sockaddr_storage s{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&s);
  a->sin6_family = AF_INET6;
  inet_pton(AF_INET6, ip, &a->sin6_addr);
  return s;
}

const sockaddr* sa(const sockaddr_storage& s) {
  return reinterpret_cast<const sockaddr*>(&s);
}

ResolvedTarget resolved(std::string source, std::string address, uint32_t weight = 1) {
  ResolvedTarget t;
  t.source = std::move(source);
  t.address = std::move(address);
  t.weight = weight;
  return t;
}

config::Target addressTarget(std::string address, uint32_t weight) {
  config::Target t;
  t.address = std::move(address);
  t.weight = weight;
  return t;
}

config::Target srvTarget(std::string name) {
  config::Target t;
  t.srv = std::move(name);
  return t;
}

TEST(UsableSrvRecords, OnlyTheLowestPriorityThatHasRecords) {
  auto out = usableSrvRecords({{"c.api", 8003, 20, 5},
                               {"b.api", 8002, 10, 3},
                               {"a.api", 8001, 10, 1},
                               {"d.api", 8004, 30, 9}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].host, "a.api");
  EXPECT_EQ(out[0].port, 8001);
  EXPECT_EQ(out[0].weight, 1);
  EXPECT_EQ(out[1].host, "b.api");
  EXPECT_EQ(out[1].weight, 3);
}

TEST(UsableSrvRecords, WeightZeroCountsAsOneAndDuplicatesAddUp) {
  auto out = usableSrvRecords({{"a.api", 80, 0, 0}, {"b.api", 80, 0, 2}, {"b.api", 80, 0, 5}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].weight, 1);
  EXPECT_EQ(out[1].weight, 7);
}

TEST(UsableSrvRecords, DotTargetMeansNoServiceAndAHigherPriorityIsNotUsedForIt) {
  EXPECT_TRUE(usableSrvRecords({{".", 0, 0, 0}}).empty());
  EXPECT_TRUE(usableSrvRecords({}).empty());
  // "." is no record: the next priority that has records is the lowest.
  auto out = usableSrvRecords({{".", 0, 0, 0}, {"a.api", 80, 5, 1}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].host, "a.api");
}

TEST(SocketAddressText, V4AndBracketedV6) {
  EXPECT_EQ(socketAddressText(sa(v4("10.0.0.1", 8080))), "10.0.0.1:8080");
  auto s = v6("::1");
  reinterpret_cast<sockaddr_in6*>(&s)->sin6_port = htons(443);
  EXPECT_EQ(socketAddressText(sa(s)), "[::1]:443");
}

TEST(AddressTargets, EveryDistinctAddressSortedWithThePortSet) {
  auto a = v4("10.0.0.2", 1), b = v6("::1"), c = v4("10.0.0.1"), d = v4("10.0.0.2", 9);
  auto out =
      addressTargets("api.internal:8080", "api.internal", 8080, {sa(a), sa(b), sa(c), sa(d)});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].address, "10.0.0.1:8080");
  EXPECT_EQ(out[1].address, "10.0.0.2:8080");
  EXPECT_EQ(out[2].address, "[::1]:8080");
  for (const ResolvedTarget& t : out) {
    EXPECT_EQ(t.source, "api.internal:8080");
    EXPECT_EQ(t.host, "api.internal");  // the TLS server name stays the name
    EXPECT_EQ(t.name, "api.internal:8080");
  }
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in6*>(&out[2].addr)->sin6_port), 8080);
  EXPECT_EQ(out[2].addr_len, sizeof(sockaddr_in6));
}

TEST(ExpandTargets, ANameBecomesOneTargetPerAddressWithTheConfiguredWeight) {
  config::Upstream u;
  u.name = "api";
  u.targets = {addressTarget("api.internal:8080", 3), addressTarget("10.0.0.9:8080", 1)};
  std::vector<ResolvedTarget> r = {
      resolved("api.internal:8080", "10.0.0.1:8080"), resolved("10.0.0.9:8080", "10.0.0.9:8080"),
      resolved("api.internal:8080", "10.0.0.2:8080"), resolved("other:1", "10.9.9.9:1")};
  std::string error;
  auto out = expandTargets(u, r, error);
  ASSERT_EQ(out.size(), 3u) << error;
  EXPECT_EQ(out[0].address, "10.0.0.1:8080");
  EXPECT_EQ(out[0].weight, 3u);
  EXPECT_EQ(out[1].address, "10.0.0.2:8080");
  EXPECT_EQ(out[1].weight, 3u);
  EXPECT_EQ(out[2].address, "10.0.0.9:8080");
  EXPECT_EQ(out[2].weight, 1u);
}

TEST(ExpandTargets, SrvTargetsTakeTheRecordWeightsAndOneAddressTwiceIsOneTarget) {
  config::Upstream u;
  u.name = "api";
  u.targets = {srvTarget("_http._tcp.api"), addressTarget("api.internal:8080", 2)};
  std::vector<ResolvedTarget> r = {resolved("srv:_http._tcp.api", "10.0.0.1:8080", 10),
                                   resolved("srv:_http._tcp.api", "10.0.0.3:9000", 30),
                                   resolved("api.internal:8080", "10.0.0.1:8080")};
  std::string error;
  auto out = expandTargets(u, r, error);
  ASSERT_EQ(out.size(), 2u) << error;
  EXPECT_EQ(out[0].address, "10.0.0.1:8080");
  EXPECT_EQ(out[0].weight, 12u);  // 10 from the record + 2 from the address entry
  EXPECT_EQ(out[1].address, "10.0.0.3:9000");
  EXPECT_EQ(out[1].weight, 30u);
}

TEST(ExpandTargets, ATargetWithoutAnyAddressIsAnError) {
  config::Upstream u;
  u.name = "api";
  u.targets = {srvTarget("_http._tcp.api")};
  std::string error;
  EXPECT_TRUE(expandTargets(u, {resolved("api:1", "10.0.0.1:1")}, error).empty());
  EXPECT_EQ(error, "upstream api: target srv _http._tcp.api has no resolved address");
}

TEST(SameResolution, OrderDoesNotMatterAddressesAndWeightsDo) {
  std::vector<ResolvedTarget> a = {resolved("n:1", "10.0.0.1:1"), resolved("n:1", "10.0.0.2:1")};
  std::vector<ResolvedTarget> b = {resolved("n:1", "10.0.0.2:1"), resolved("n:1", "10.0.0.1:1")};
  EXPECT_TRUE(sameResolution(a, b));
  b[0].stale = true;  // kept from before: still the same targets
  EXPECT_TRUE(sameResolution(a, b));
  b[0].address = "10.0.0.3:1";
  EXPECT_FALSE(sameResolution(a, b));
  b[0] = resolved("n:1", "10.0.0.2:1", 5);
  EXPECT_FALSE(sameResolution(a, b));
  b.pop_back();
  EXPECT_FALSE(sameResolution(a, b));
}

}  // namespace
}  // namespace sluice::proxy
