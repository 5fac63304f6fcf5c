// Tests for proxy/upstream/discovery/discovery_targets.cc: registration values as targets, and
// the set a range fills and watch events change.
#include "proxy/upstream/discovery/discovery_targets.h"

#include <gtest/gtest.h>

namespace sluice::proxy::discovery {
namespace {

WatchEvent put(std::string key, std::string value) {
  WatchEvent e;
  e.kv = {std::move(key), std::move(value)};
  return e;
}

WatchEvent del(std::string key) {
  WatchEvent e;
  e.type = WatchEvent::Type::Delete;
  e.kv.key = std::move(key);
  return e;
}

TEST(DiscoveryTargets, Values) {
  std::string error;
  auto a = parseTargetValue("127.0.0.1:9001", error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->address, "127.0.0.1:9001");
  EXPECT_EQ(a->weight, 1u);
  auto b = parseTargetValue(R"({"address": "[::1]:9002", "weight": 5})", error);
  ASSERT_TRUE(b) << error;
  EXPECT_EQ(b->address, "[::1]:9002");
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->weight, 5u);
  EXPECT_TRUE(parseTargetValue(" 127.0.0.1:9003\n", error));
  EXPECT_FALSE(parseTargetValue("api.internal:9001", error));  // names are not resolved
  EXPECT_NE(error.find("not an IP address"), std::string::npos);
  EXPECT_FALSE(parseTargetValue("127.0.0.1", error));
  EXPECT_FALSE(parseTargetValue("", error));
  EXPECT_FALSE(parseTargetValue(R"({"address": 1})", error));
  EXPECT_FALSE(parseTargetValue(R"({"address": "127.0.0.1:1", "weight": 0})", error));
  EXPECT_FALSE(parseTargetValue(R"({"address": "127.0.0.1:1", "weight": "2"})", error));
  EXPECT_FALSE(parseTargetValue(R"({"address": "127.0.0.1:1")", error));
}

TEST(DiscoveryTargets, ResetThenEvents) {
  DiscoveryTargets set;
  auto rejected = set.reset({{"/s/a", "127.0.0.1:9001"},
                             {"/s/b", R"({"address":"127.0.0.1:9002","weight":3})"},
                             {"/s/bad", "nonsense"}});
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].key, "/s/bad");
  auto t = set.targets("api");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].address, "127.0.0.1:9001");
  EXPECT_EQ(t[0].source, "discovery:api");
  EXPECT_EQ(t[1].weight, 3u);

  EXPECT_TRUE(set.apply({put("/s/c", "127.0.0.1:9003"), del("/s/a")}).empty());
  t = set.targets("api");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].address, "127.0.0.1:9002");
  EXPECT_EQ(t[1].address, "127.0.0.1:9003");

  // A key whose new value is not a target leaves the set.
  EXPECT_EQ(set.apply({put("/s/c", "garbage")}).size(), 1u);
  EXPECT_EQ(set.targets("api").size(), 1u);
  // Deleting an unknown key changes nothing.
  EXPECT_TRUE(set.apply({del("/s/zzz")}).empty());
  EXPECT_EQ(set.keys(), 1u);
  // A range replaces everything.
  set.reset({});
  EXPECT_TRUE(set.targets("api").empty());
}

TEST(DiscoveryTargets, SameAddressUnderTwoKeysAddsWeights) {
  DiscoveryTargets set;
  set.reset({{"/s/a", "127.0.0.1:9001"}, {"/s/b", R"({"address":"127.0.0.1:9001","weight":2})"}});
  auto t = set.targets("api");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].weight, 3u);
  set.apply({del("/s/b")});
  EXPECT_EQ(set.targets("api").at(0).weight, 1u);
}

}  // namespace
}  // namespace sluice::proxy::discovery
