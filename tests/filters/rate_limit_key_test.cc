#include "filters/rate_limit_key.h"

#include <gtest/gtest.h>

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
