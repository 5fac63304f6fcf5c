// Tests for config/units.h: every accepted form of each value syntax, and the rejected ones.
#include "config/units.h"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

TEST(Duration, AcceptsEachUnit) {
  EXPECT_EQ(parseDuration("250ms")->count(), 250);
  EXPECT_EQ(parseDuration("10s")->count(), 10'000);
  EXPECT_EQ(parseDuration("5m")->count(), 300'000);
  EXPECT_EQ(parseDuration("1h")->count(), 3'600'000);
  EXPECT_EQ(parseDuration("0")->count(), 0);
  EXPECT_EQ(parseDuration("0s")->count(), 0);
}

TEST(Duration, RejectsOtherForms) {
  for (const char* bad : {"", "10", "10x", "1.5s", "-5s", "s", "10 s", "10S", "1h30m", "5min"}) {
    auto d = parseDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.error(), "\"" + std::string(bad) +
                             "\" is not a duration; write e.g. 250ms, 10s, "
                             "5m, 1h");
  }
  EXPECT_EQ(parseDuration("99999999999999999h").error(),
            "duration \"99999999999999999h\" is too large");
}

TEST(Duration, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(formatDuration(Duration{250}), "250ms");
  EXPECT_EQ(formatDuration(Duration{10'000}), "10s");
  EXPECT_EQ(formatDuration(Duration{90'000}), "90s");
  EXPECT_EQ(formatDuration(Duration{120'000}), "2m");
  EXPECT_EQ(formatDuration(Duration{7'200'000}), "2h");
  EXPECT_EQ(formatDuration(Duration{0}), "0s");
  EXPECT_EQ(formatDuration(Duration{1500}), "1500ms");
}

TEST(Size, AcceptsBytesAndBinaryUnits) {
  EXPECT_EQ(*parseSize("512"), 512u);
  EXPECT_EQ(*parseSize("0"), 0u);
  EXPECT_EQ(*parseSize("100B"), 100u);
  EXPECT_EQ(*parseSize("64KiB"), 64u * 1024);
  EXPECT_EQ(*parseSize("10MiB"), 10u * 1024 * 1024);
  EXPECT_EQ(*parseSize("1GiB"), 1ull << 30);
}

TEST(Size, RejectsDecimalUnitsAndJunk) {
  for (const char* bad : {"", "10MB", "10M", "10k", "1.5MiB", "-1", "KiB", "10 MiB", "10mib"}) {
    auto s = parseSize(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.error().find("is not a size; write bytes or a binary unit, e.g. 512, 64KiB"),
              std::string::npos)
        << s.error();
  }
  EXPECT_EQ(parseSize("99999999999999GiB").error(), "size \"99999999999999GiB\" is too large");
}

TEST(Rate, AcceptsPerSecondMinuteHour) {
  auto r = parseRate("100/s");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->count, 100);
  EXPECT_EQ(r->per.count(), 1000);
  EXPECT_DOUBLE_EQ(parseRate("6000/m")->perSecond(), 100);
  EXPECT_DOUBLE_EQ(parseRate("360000/h")->perSecond(), 100);
  EXPECT_DOUBLE_EQ(parseRate("0.5/s")->perSecond(), 0.5);
}

TEST(Rate, RejectsBadForms) {
  for (const char* bad : {"", "100", "100/d", "/s", "abc/s", "100/sec", "-1/s", "1e3/s"}) {
    auto r = parseRate(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error(),
              "\"" + std::string(bad) + "\" is not a rate; write e.g. 100/s, 6000/m, 100000/h");
  }
  EXPECT_EQ(parseRate("0/s").error(), "rate \"0/s\" must be above zero, e.g. 1/s");
}

TEST(Rate, FormatsAsWritten) {
  EXPECT_EQ(formatRate(*parseRate("100/s")), "100/s");
  EXPECT_EQ(formatRate(*parseRate("6000/m")), "6000/m");
  EXPECT_EQ(formatRate(*parseRate("100000/h")), "100000/h");
  EXPECT_EQ(formatRate(*parseRate("2.5/s")), "2.5/s");
  EXPECT_EQ(formatRate(Rate{10, Duration{500}}), "20/s");
}

TEST(Percent, IsAFraction) {
  EXPECT_DOUBLE_EQ(*parsePercent("20%"), 0.2);
  EXPECT_DOUBLE_EQ(*parsePercent("10%"), 0.1);
  EXPECT_DOUBLE_EQ(*parsePercent("0%"), 0);
  EXPECT_DOUBLE_EQ(*parsePercent("100%"), 1);
  EXPECT_DOUBLE_EQ(*parsePercent("2.5%"), 0.025);
  EXPECT_EQ(formatPercent(0.2), "20%");
  EXPECT_EQ(formatPercent(0.025), "2.5%");
  for (const char* bad : {"20", "0.2", "101%", "-1%", "%", "abc%"}) {
    auto p = parsePercent(bad);
    EXPECT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.error(), "\"" + std::string(bad) +
                             "\" is not a percentage; write e.g. 20% (between 0% and 100%)");
  }
}

TEST(StatusRange, SingleAndRange) {
  auto r = parseStatusRange("200-399");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, 200);
  EXPECT_EQ(r->hi, 399);
  auto one = parseStatusRange("404");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->lo, 404);
  EXPECT_EQ(one->hi, 404);
  EXPECT_EQ(formatStatusRange(*r), "200-399");
  EXPECT_EQ(formatStatusRange(*one), "404");
}

TEST(StatusRange, RejectsOutOfRangeReversedAndJunk) {
  EXPECT_EQ(parseStatusRange("99").error(), "status \"99\" is outside 100-599");
  EXPECT_EQ(parseStatusRange("200-600").error(), "status \"200-600\" is outside 100-599");
  EXPECT_EQ(parseStatusRange("399-200").error(),
            "status range \"399-200\" is reversed; write the lower status first");
  for (const char* bad : {"", "2xx", "200-", "-200", "200-300-400", "ok"}) {
    EXPECT_EQ(
        parseStatusRange(bad).error(),
        "\"" + std::string(bad) + "\" is not a status or status range; write e.g. 404 or 200-399")
        << bad;
  }
}

TEST(Address, HostPortForms) {
  auto a = parseAddress("0.0.0.0:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 8080);
  EXPECT_EQ(a->text(), "0.0.0.0:8080");
  auto v6 = parseAddress("[::1]:9901");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->text(), "[::1]:9901");
  auto name = parseAddress("api-2.internal:65535");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->host, "api-2.internal");
  EXPECT_EQ(name->port, 65535);
}

TEST(Address, RejectsWithAHint) {
  EXPECT_EQ(parseAddress("localhost:70000").error(),
            "\"localhost:70000\": port 70000 is out of range; use 1-65535");
  EXPECT_EQ(parseAddress("localhost:0").error(),
            "\"localhost:0\": port 0 is out of range; use 1-65535");
  EXPECT_EQ(parseAddress("::1:80").error(),
            "\"::1:80\": an IPv6 address needs brackets, e.g. [::1]:8080");
  const std::string hint = "; write host:port, e.g. 0.0.0.0:8080, 127.0.0.1:9001 or [::1]:8080";
  EXPECT_EQ(parseAddress("localhost").error(), "\"localhost\" has no port" + hint);
  EXPECT_EQ(parseAddress(":80").error(), "\":80\" has no host" + hint);
  EXPECT_EQ(parseAddress("host:http").error(),
            "\"host:http\": port \"http\" is not a number" + hint);
  EXPECT_EQ(parseAddress("[::1:80").error(), "\"[::1:80\" is not an address" + hint);
  EXPECT_EQ(parseAddress("[nope]:80").error(),
            "\"[nope]:80\": \"nope\" in brackets is not an IPv6 address" + hint);
  EXPECT_EQ(parseAddress("ex ample:80").error(),
            "\"ex ample:80\": \"ex ample\" is not a host name or IP address" + hint);
}

TEST(Cidr, V4V6AndBareAddresses) {
  auto c = parseCidr("10.0.0.0/8");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->prefix_len, 96 + 8);
  EXPECT_EQ(c->text, "10.0.0.0/8");
  EXPECT_TRUE(c->contains(parseIp("10.1.2.3")->data()));
  EXPECT_FALSE(c->contains(parseIp("11.0.0.1")->data()));
  EXPECT_FALSE(c->contains(parseIp("::a01:203")->data()));  // not v4-mapped

  auto bare = parseCidr("127.0.0.1");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->prefix_len, 128);
  EXPECT_TRUE(bare->contains(parseIp("127.0.0.1")->data()));
  EXPECT_TRUE(bare->contains(parseIp("::ffff:127.0.0.1")->data()));
  EXPECT_FALSE(bare->contains(parseIp("127.0.0.2")->data()));

  auto v6 = parseCidr("2001:db8::/32");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->prefix_len, 32);
  EXPECT_TRUE(v6->contains(parseIp("2001:db8:1::5")->data()));
  EXPECT_FALSE(v6->contains(parseIp("2001:db9::5")->data()));

  auto odd = parseCidr("192.168.0.0/23");  // a prefix that is not a whole byte
  ASSERT_TRUE(odd.ok());
  EXPECT_TRUE(odd->contains(parseIp("192.168.1.255")->data()));
  EXPECT_FALSE(odd->contains(parseIp("192.168.2.0")->data()));

  auto all = parseCidr("0.0.0.0/0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->contains(parseIp("8.8.8.8")->data()));
  EXPECT_FALSE(all->contains(parseIp("::1")->data()));  // /0 of IPv4 is still IPv4 only
  EXPECT_EQ(parseCidr("::1")->prefix_len, 128);
}

TEST(Cidr, RejectsBadForms) {
  const std::string hint = "; write e.g. 10.0.0.0/8, 127.0.0.1, ::1/128";
  EXPECT_EQ(parseCidr("10.0.0.0/33").error(),
            "\"10.0.0.0/33\": the prefix length must be 0-32" + hint);
  EXPECT_EQ(parseCidr("::/129").error(), "\"::/129\": the prefix length must be 0-128" + hint);
  EXPECT_EQ(parseCidr("10.0.0/8").error(),
            "\"10.0.0/8\" is not an IP address or CIDR block" + hint);
  EXPECT_EQ(parseCidr("localhost").error(),
            "\"localhost\" is not an IP address or CIDR block" + hint);
  EXPECT_EQ(parseCidr("10.0.0.1/8").error(),
            "\"10.0.0.1/8\" has bits set after the /8 prefix; write the network address of the "
            "block");
  EXPECT_FALSE(parseCidr("10.0.0.0/").ok());
}

TEST(Syntax, NamesTokensAndHeaderValues) {
  EXPECT_TRUE(isValidName("api-v1.internal_2"));
  EXPECT_FALSE(isValidName(""));
  EXPECT_FALSE(isValidName("my api"));
  EXPECT_FALSE(isValidName("a/b"));
  EXPECT_TRUE(isHttpToken("X-Api-Key"));
  EXPECT_TRUE(isHttpToken("GET"));
  EXPECT_FALSE(isHttpToken("x env"));
  EXPECT_FALSE(isHttpToken("x:y"));
  EXPECT_FALSE(isHttpToken(""));
  EXPECT_FALSE(isHttpToken(std::string_view("a\0b", 3)));
  EXPECT_TRUE(isValidHeaderValue("text/plain; charset=utf-8"));
  EXPECT_FALSE(isValidHeaderValue("a\r\nb"));
  EXPECT_FALSE(isValidHeaderValue(std::string_view("a\0b", 3)));
  EXPECT_EQ(toLower("X-Api-KEY"), "x-api-key");
  EXPECT_EQ(toUpper("get"), "GET");
}

}  // namespace
}  // namespace sluice::config
