#include "filters/rate_limit_key.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/units.h"

namespace sluice::filters {
namespace {

TEST(RateLimitKey, ConsumerIsTheIdentityAnAuthFilterSet) {
  RateLimitKey key;
  std::string error;
  ASSERT_TRUE(key.init("consumer", {}, error)) << error;
  base::RequestHead head;
  StreamInfo info;
  info.client_ip = "192.0.2.1";
  std::string out;
  key.evaluate(head, info, out);
  EXPECT_EQ(out, "");  // no identity: the empty key
  info.consumer = "acme";
  key.evaluate(head, info, out);
  EXPECT_EQ(out, "acme");
}

TEST(RateLimitKey, JwtClaimIsTheVerifiedTokensClaim) {
  RateLimitKey key;
  std::string error;
  ASSERT_TRUE(key.init("jwt:tenant+header:x-a", {}, error)) << error;
  base::RequestHead head;
  head.headers.add("x-a", "1");
  StreamInfo info;
  std::string out;
  key.evaluate(head, info, out);
  EXPECT_EQ(out,
            "\x1f"
            "1");  // no verified token: the claim part is empty
  JwtClaims claims;
  claims.values = {{"sub", "alice"}, {"tenant", "t1"}};
  info.jwt_claims = &claims;
  key.evaluate(head, info, out);
  EXPECT_EQ(out,
            "t1\x1f"
            "1");
}

// Only a key that reads request fields needs the head as edited for upstream (filter.h,
// readsForwardedHead): without one, the proxy writes its own fields straight into each try.
TEST(RateLimitKey, ReadsFieldsOnlyThroughHeaderOrCookieParts) {
  std::string error;
  auto reads = [&](const char* expr, std::vector<config::Cidr> trusted) {
    RateLimitKey key;
    EXPECT_TRUE(key.init(expr, trusted, error)) << error;
    return key.readsFields();
  };
  EXPECT_FALSE(reads("ip", {}));
  EXPECT_FALSE(reads("ip", {*config::parseCidr("127.0.0.0/8")}));  // see the next test
  EXPECT_FALSE(reads("route", {}));
  EXPECT_FALSE(reads("consumer+query:k+jwt:sub", {}));
  EXPECT_TRUE(reads("route+header:x-api-key", {}));
  EXPECT_TRUE(reads("cookie:sid", {}));
}

// The ip key reads X-Forwarded-For only from a trusted peer, so the peer address sluice appends
// for upstream is skipped by the walk: the head as received gives the same client.
TEST(RateLimitKey, IpIsTheSameOnTheHeadAsReceivedAndAsEditedForUpstream) {
  RateLimitKey key;
  std::string error;
  ASSERT_TRUE(key.init("ip", {*config::parseCidr("127.0.0.0/8")}, error));
  const std::vector<std::vector<std::string>> lists = {{},
                                                       {"203.0.113.9"},
                                                       {"203.0.113.9, 127.0.0.2"},
                                                       {"127.0.0.3"},
                                                       {"127.0.0.3, 127.0.0.2"},
                                                       {", "},
                                                       {"198.51.100.1", "203.0.113.9, 127.0.0.5"},
                                                       {"not-an-ip"},
                                                       {"203.0.113.9,"}};
  for (const char* peer : {"127.0.0.1", "192.0.2.1"}) {
    for (const auto& lines : lists) {
      base::RequestHead received, edited;
      for (const std::string& l : lines) received.headers.add("x-forwarded-for", l);
      edited = received;
      edited.headers.appendToList("x-forwarded-for", peer);  // what the edits do
      StreamInfo info;
      info.client_ip = peer;
      std::string a, b;
      key.evaluate(received, info, a);
      key.evaluate(edited, info, b);
      EXPECT_EQ(a, b) << peer << " " << (lines.empty() ? "-" : lines.back());
    }
  }
}

TEST(RateLimitKey, IpWalksForwardedForFromTrustedProxies) {
  RateLimitKey key;
  std::string error;
  ASSERT_TRUE(key.init("ip", {*config::parseCidr("127.0.0.0/8")}, error));
  base::RequestHead head;
  head.headers.add("x-forwarded-for", "203.0.113.9, 127.0.0.2");
  head.headers.add("x-forwarded-for", "127.0.0.1");
  StreamInfo info;
  info.client_ip = "127.0.0.1";
  std::string out;
  key.evaluate(head, info, out);
  EXPECT_EQ(out, "203.0.113.9");
  info.client_ip = "192.0.2.1";  // an untrusted peer is the client
  key.evaluate(head, info, out);
  EXPECT_EQ(out, "192.0.2.1");
}

}  // namespace
}  // namespace sluice::filters
