#include "ratelimit/key_expr.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

namespace sluice::ratelimit {
namespace {

TEST(KeyExpr, ParsesCombinations) {
  std::vector<KeyPart> parts;
  std::string error;
  ASSERT_TRUE(parseKeyExpr("ip+header:X-Api-Key+cookie:sid+query:k+route", parts, error));
  ASSERT_EQ(parts.size(), 5u);
  EXPECT_EQ(parts[0].kind, KeyPart::Kind::Ip);
  EXPECT_EQ(parts[1].kind, KeyPart::Kind::Header);
  EXPECT_EQ(parts[1].name, "x-api-key");
  EXPECT_EQ(parts[2].kind, KeyPart::Kind::Cookie);
  EXPECT_EQ(parts[3].kind, KeyPart::Kind::Query);
  EXPECT_EQ(parts[4].kind, KeyPart::Kind::Route);
  EXPECT_FALSE(parseKeyExpr("ip+body:x", parts, error));
  EXPECT_FALSE(parseKeyExpr("header:", parts, error));
}

TEST(KeyExpr, ParsesConsumer) {
  std::vector<KeyPart> parts;
  std::string error;
  ASSERT_TRUE(parseKeyExpr("consumer+ip", parts, error));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].kind, KeyPart::Kind::Consumer);
  EXPECT_FALSE(parseKeyExpr("consumer:x", parts, error));
}

TEST(KeyExpr, CookieAndQueryValues) {
  EXPECT_EQ(cookieValue("a=1; sid=\"xyz\"; b=2", "sid"), "xyz");
  EXPECT_EQ(cookieValue("a=1;b=2", "b"), "2");
  EXPECT_FALSE(cookieValue("asid=1", "sid"));
  EXPECT_EQ(queryValue("a=1&k=v%20w&b", "k"), "v%20w");
  EXPECT_EQ(queryValue("a=1&b", "b"), "");
  EXPECT_FALSE(queryValue("ka=1", "k"));
}

TEST(KeyExpr, ForwardedForSkipsTrustedHops) {
  auto trusted = [](std::string_view ip) { return ip == "127.0.0.1" || ip == "10.0.0.1"; };
  // The peer (last hop) is appended by sluice.
  EXPECT_EQ(clientFromForwarded("1.2.3.4, 10.0.0.1, 127.0.0.1", trusted), "1.2.3.4");
  EXPECT_EQ(clientFromForwarded("6.6.6.6, 1.2.3.4, 127.0.0.1", trusted), "1.2.3.4");
  EXPECT_EQ(clientFromForwarded("6.6.6.6, 9.9.9.9", trusted), "9.9.9.9");  // untrusted peer
  EXPECT_EQ(clientFromForwarded("10.0.0.1, 127.0.0.1", trusted), "10.0.0.1");
  EXPECT_EQ(clientFromForwarded("", trusted), "");
}

TEST(KeyExpr, ParsesAddresses) {
  unsigned char a[16];
  ASSERT_TRUE(parseIp16("127.0.0.1", a));
  EXPECT_EQ(a[10], 0xff);
  EXPECT_EQ(a[12], 127);
  EXPECT_TRUE(parseIp16("::1", a));
  EXPECT_TRUE(parseIp16("[::1]", a));
  EXPECT_FALSE(parseIp16("not-an-ip", a));
}

TEST(KeyExpr, ParseIp16AgreesWithInetPtonOnIpv4) {
  const char* cases[] = {
      "0.0.0.0", "255.255.255.255", "10.0.0.1",      "1.2.3.4",   "256.1.1.1", "01.2.3.4",
      "1.2.3",   "1.2.3.4.5",       "1..2.3",        "1.2.3.4 ",  " 1.2.3.4",  "1.2.3.-4",
      "a.b.c.d", "1.2.3.04",        "100.200.300.1", "1.2.3.4/8", ""};
  for (const char* c : cases) {
    unsigned char a[16];
    unsigned char v4[4];
    bool want = inet_pton(AF_INET, c, v4) == 1;
    EXPECT_EQ(parseIp16(c, a), want) << c;
    if (want) {
      EXPECT_EQ(a[10], 0xff);
      EXPECT_EQ(std::memcmp(a + 12, v4, 4), 0) << c;
    }
  }
}

}  // namespace
}  // namespace sluice::ratelimit
