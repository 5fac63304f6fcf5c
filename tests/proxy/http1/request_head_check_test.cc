// Tests for proxy/http1/request_head_check.h: each RFC 9112 / RFC 9110 rule of a parsed request
// head, with the statuses the end-to-end tests expect of sluice (test_framing.py,
// test_keepalive.py, test_bodies.py): 505 for another major version, 405 for CONNECT, 400 for
// a bad target, Host or framing, 501 for a coding before chunked, 413 for a Content-Length over
// max_body_bytes, 417 for an Expect other than 100-continue.
#include "proxy/http1/request_head_check.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace sluice::proxy {
namespace {

constexpr uint64_t kMaxBody = 1000;

base::RequestHead makeHead(std::string method, std::string target,
                           std::vector<std::pair<std::string, std::string>> fields = {
                               {"host", "test.local"}}) {
  base::RequestHead h;
  h.method = std::move(method);
  h.target = std::move(target);
  for (auto& [name, value] : fields) h.headers.add(name, value);
  return h;
}

ParsedHead http10() {
  ParsedHead p;
  p.http_minor = 0;
  p.keep_alive = false;
  return p;
}

int statusOf(base::RequestHead h, const ParsedHead& p = {}) {
  return checkRequestHead(h, p, kMaxBody).status;
}

// ---------------------------------------------------------------------------------------------
// An ordinary request

TEST(CheckRequestHead, AcceptsAPlainGet) {
  base::RequestHead h = makeHead("GET", "/a?b=1", {{"host", "Test.LOCAL:8080"}});
  HeadVerdict v = checkRequestHead(h, {}, kMaxBody);
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(h.host, "test.local:8080") << "lower-cased";
  EXPECT_EQ(h.target, "/a?b=1");
  EXPECT_EQ(h.version_minor, 1);
  EXPECT_EQ(v.meta.framing, BodyFraming::None);
  EXPECT_EQ(v.meta.content_length, 0u);
  EXPECT_TRUE(v.meta.keep_alive);
  EXPECT_FALSE(v.meta.upgrade);
  EXPECT_FALSE(v.meta.expect_continue);
  EXPECT_FALSE(v.meta.absolute_form);
}

TEST(CheckRequestHead, KeepAliveAndVersionComeFromTheParser) {
  base::RequestHead h = makeHead("GET", "/");
  HeadVerdict v = checkRequestHead(h, http10(), kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(h.version_minor, 0);
  EXPECT_FALSE(v.meta.keep_alive);
}

// ---------------------------------------------------------------------------------------------
// Version and method

TEST(CheckRequestHead, OtherMajorVersionsAre505) {
  ParsedHead p;
  p.http_major = 2;
  EXPECT_EQ(statusOf(makeHead("GET", "/"), p), 505);
  p.http_major = 0;
  EXPECT_EQ(statusOf(makeHead("GET", "/"), p), 505);
  ParsedHead gate;  // HTTP/2.0 and later, rewritten by the request-line gate for llhttp
  gate.version_unsupported = true;
  EXPECT_EQ(statusOf(makeHead("GET", "/"), gate), 505);
}

TEST(CheckRequestHead, A505LeavesTheHeadAsItWas) {
  base::RequestHead h = makeHead("GET", "http://a.example/x");
  ParsedHead p;
  p.http_major = 2;
  p.http_minor = 0;
  EXPECT_EQ(checkRequestHead(h, p, kMaxBody).status, 505);
  EXPECT_EQ(h.version_minor, 1);
  EXPECT_EQ(h.target, "http://a.example/x");
  EXPECT_EQ(h.host, "");
}

TEST(CheckRequestHead, ConnectIs405) {
  ParsedHead p;
  p.upgrade = true;  // llhttp flags CONNECT as an upgrade
  EXPECT_EQ(statusOf(makeHead("CONNECT", "a.example:443"), p), 405);
  EXPECT_EQ(statusOf(makeHead("CONNECT", "/"), {}), 405);
}

// ---------------------------------------------------------------------------------------------
// Upgrade

TEST(CheckRequestHead, UpgradeKeptInHttp11) {
  base::RequestHead h = makeHead("GET", "/ws", {{"host", "t"}, {"upgrade", "websocket"}});
  ParsedHead p;
  p.upgrade = true;
  HeadVerdict v = checkRequestHead(h, p, kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v.meta.upgrade);
}

TEST(CheckRequestHead, UpgradeIgnoredInHttp10) {
  base::RequestHead h = makeHead("GET", "/ws", {{"host", "t"}, {"upgrade", "websocket"}});
  ParsedHead p = http10();
  p.upgrade = true;
  HeadVerdict v = checkRequestHead(h, p, kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v.meta.upgrade);
}

TEST(CheckRequestHead, H2cUpgradeIgnored) {
  for (const char* up : {"h2c", "H2C", "websocket, h2c"}) {
    base::RequestHead h = makeHead("GET", "/", {{"host", "t"}, {"upgrade", up}});
    ParsedHead p;
    p.upgrade = true;
    HeadVerdict v = checkRequestHead(h, p, kMaxBody);
    ASSERT_TRUE(v.ok()) << up;
    EXPECT_FALSE(v.meta.upgrade) << up;
  }
}

TEST(CheckRequestHead, UpgradeFlagWithoutUpgradeFieldIgnored) {
  base::RequestHead h = makeHead("GET", "/");
  ParsedHead p;
  p.upgrade = true;
  HeadVerdict v = checkRequestHead(h, p, kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v.meta.upgrade);
}

// ---------------------------------------------------------------------------------------------
// Request target forms

TEST(CheckRequestHead, AbsoluteFormAuthorityReplacesHost) {
  base::RequestHead h = makeHead("GET", "http://ABS.example/path/x?q=1", {{"host", "other"}});
  HeadVerdict v = checkRequestHead(h, {}, kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v.meta.absolute_form);
  EXPECT_EQ(h.host, "abs.example");
  EXPECT_EQ(h.target, "/path/x?q=1");
}

TEST(CheckRequestHead, AbsoluteFormSchemesAndEmptyPaths) {
  struct Case {
    const char* method;
    const char* target;
    const char* host;
    const char* origin;
  };
  for (const Case& c : {Case{"GET", "https://a.example:8443/x", "a.example:8443", "/x"},
                        Case{"GET", "HTTP://a.example/x", "a.example", "/x"},
                        Case{"GET", "http://a.example", "a.example", "/"},
                        Case{"GET", "http://a.example?q=1", "a.example", "/?q=1"},
                        Case{"OPTIONS", "http://a.example", "a.example", "*"},
                        Case{"OPTIONS", "http://a.example/o", "a.example", "/o"}}) {
    base::RequestHead h = makeHead(c.method, c.target);
    HeadVerdict v = checkRequestHead(h, {}, kMaxBody);
    ASSERT_TRUE(v.ok()) << c.target;
    EXPECT_EQ(h.host, c.host) << c.target;
    EXPECT_EQ(h.target, c.origin) << c.target;
  }
}

TEST(CheckRequestHead, BadAbsoluteFormAuthorityIs400) {
  for (const char* t : {"http:///a", "http://a.example:8x/a", "http://user@a.example/a",
                        "http://a example/a", "https://[::1/a", "http://a.example:99999/"}) {
    EXPECT_EQ(statusOf(makeHead("GET", t)), 400) << t;
  }
}

TEST(CheckRequestHead, AbsoluteFormStillNeedsHostInHttp11) {
  EXPECT_EQ(statusOf(makeHead("GET", "http://a.example/a", {})), 400);
  EXPECT_EQ(statusOf(makeHead("GET", "http://a.example/a", {}), http10()), 0);
}

TEST(CheckRequestHead, OriginFormMustStartWithSlash) {
  EXPECT_EQ(statusOf(makeHead("GET", "a/b")), 400);
  EXPECT_EQ(statusOf(makeHead("GET", "")), 400);
  EXPECT_EQ(statusOf(makeHead("GET", "ftp://a.example/")), 400);
}

TEST(CheckRequestHead, AsteriskOnlyForOptions) {
  EXPECT_EQ(statusOf(makeHead("OPTIONS", "*")), 0);
  EXPECT_EQ(statusOf(makeHead("GET", "*")), 400);
}

TEST(CheckRequestHead, FragmentIs400) {
  EXPECT_EQ(statusOf(makeHead("GET", "/a#frag")), 400);
  EXPECT_EQ(statusOf(makeHead("GET", "http://a.example/a#frag")), 400);
}

// What was normalised before a rule failed stays: the 400 and its access-log line show it.
TEST(CheckRequestHead, ARejectedHeadKeepsWhatWasNormalisedBefore) {
  base::RequestHead h = makeHead("GET", "http://A.example/a#frag");
  EXPECT_EQ(checkRequestHead(h, {}, kMaxBody).status, 400);
  EXPECT_EQ(h.host, "a.example");
  EXPECT_EQ(h.target, "/a#frag");
}

// ---------------------------------------------------------------------------------------------
// Host

TEST(CheckRequestHead, HostRules) {
  EXPECT_EQ(statusOf(makeHead("GET", "/", {})), 400) << "missing in HTTP/1.1";
  EXPECT_EQ(statusOf(makeHead("GET", "/", {{"host", "a.example"}, {"host", "b.example"}})), 400);
  EXPECT_EQ(statusOf(makeHead("GET", "/", {{"host", "a"}, {"host", "a"}}), http10()), 400)
      << "two, even in HTTP/1.0";
  for (const char* bad :
       {"a example", "a.example:xyz", "a.example:99999", "[::1", "user@a", "a.example,b.example"}) {
    EXPECT_EQ(statusOf(makeHead("GET", "/", {{"host", bad}})), 400) << bad;
    EXPECT_EQ(statusOf(makeHead("GET", "/", {{"host", bad}}), http10()), 400) << bad;
  }
  // "": RFC 9112 §3.2 allows an empty Host (a target URI without authority).
  for (const char* good : {"a.example", "a.example:80", "[::1]:8080", "127.0.0.1", ""}) {
    EXPECT_EQ(statusOf(makeHead("GET", "/", {{"host", good}})), 0) << good;
  }
}

TEST(CheckRequestHead, Http10WithoutHostIsServed) {
  base::RequestHead h = makeHead("GET", "/", {});
  HeadVerdict v = checkRequestHead(h, http10(), kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(h.host, "");
}

// ---------------------------------------------------------------------------------------------
// Framing

TEST(CheckRequestHead, ChunkedIsChunked) {
  for (const char* te : {"chunked", "Chunked", " chunked "}) {
    base::RequestHead h = makeHead("POST", "/", {{"host", "t"}, {"transfer-encoding", te}});
    HeadVerdict v = checkRequestHead(h, {}, kMaxBody);
    ASSERT_TRUE(v.ok()) << te;
    EXPECT_EQ(v.meta.framing, BodyFraming::Chunked) << te;
    EXPECT_EQ(v.meta.content_length, 0u);
  }
}

TEST(CheckRequestHead, ChunkedNotLastOrNotThereIs400) {
  for (const char* te : {"gzip", "chunked, gzip", "identity", ""}) {
    EXPECT_EQ(statusOf(makeHead("POST", "/", {{"host", "t"}, {"transfer-encoding", te}})), 400)
        << te;
  }
  EXPECT_EQ(
      statusOf(makeHead(
          "POST", "/",
          {{"host", "t"}, {"transfer-encoding", "chunked"}, {"transfer-encoding", "chunked"}})),
      400)
      << "two Transfer-Encoding fields";
}

TEST(CheckRequestHead, ACodingBeforeChunkedIs501) {
  for (const char* te : {"gzip, chunked", "gzip,chunked", "deflate, gzip, chunked"}) {
    EXPECT_EQ(statusOf(makeHead("POST", "/", {{"host", "t"}, {"transfer-encoding", te}})), 501)
        << te;
  }
}

TEST(CheckRequestHead, ChunkedInHttp10Is400) {
  EXPECT_EQ(statusOf(makeHead("POST", "/", {{"transfer-encoding", "chunked"}}), http10()), 400);
}

TEST(CheckRequestHead, TransferEncodingWinsOverContentLength) {
  base::RequestHead h = makeHead(
      "POST", "/", {{"host", "t"}, {"content-length", "5"}, {"transfer-encoding", "chunked"}});
  ParsedHead p;
  p.content_length = 5;
  HeadVerdict v = checkRequestHead(h, p, kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.meta.framing, BodyFraming::Chunked);
  EXPECT_EQ(v.meta.content_length, 0u);
}

TEST(CheckRequestHead, ContentLength) {
  ParsedHead p;
  p.content_length = 5;
  base::RequestHead h = makeHead("POST", "/", {{"host", "t"}, {"content-length", "5"}});
  HeadVerdict v = checkRequestHead(h, p, kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.meta.framing, BodyFraming::Length);
  EXPECT_EQ(v.meta.content_length, 5u);

  ParsedHead zero;
  base::RequestHead z = makeHead("POST", "/", {{"host", "t"}, {"content-length", "0"}});
  v = checkRequestHead(z, zero, kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.meta.framing, BodyFraming::None);

  // Without the field, what llhttp holds is not a length.
  base::RequestHead none = makeHead("GET", "/");
  v = checkRequestHead(none, p, kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.meta.framing, BodyFraming::None);
  EXPECT_EQ(v.meta.content_length, 0u);
}

TEST(CheckRequestHead, ContentLengthOverMaxBodyIs413) {
  ParsedHead p;
  p.content_length = kMaxBody;
  EXPECT_EQ(statusOf(makeHead("POST", "/", {{"host", "t"}, {"content-length", "1000"}}), p), 0);
  p.content_length = kMaxBody + 1;
  EXPECT_EQ(statusOf(makeHead("POST", "/", {{"host", "t"}, {"content-length", "1001"}}), p), 413);
}

// ---------------------------------------------------------------------------------------------
// Expect

TEST(CheckRequestHead, Expect100ContinueWithABody) {
  ParsedHead p;
  p.content_length = 5;
  base::RequestHead h =
      makeHead("POST", "/", {{"host", "t"}, {"content-length", "5"}, {"expect", "100-Continue"}});
  HeadVerdict v = checkRequestHead(h, p, kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v.meta.expect_continue);
  EXPECT_FALSE(h.headers.has("expect")) << "hop-by-hop: not forwarded";
}

TEST(CheckRequestHead, Expect100ContinueWithoutABodyExpectsNothing) {
  base::RequestHead h = makeHead("GET", "/", {{"host", "t"}, {"expect", "100-continue"}});
  HeadVerdict v = checkRequestHead(h, {}, kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v.meta.expect_continue);
  EXPECT_FALSE(h.headers.has("expect"));
}

TEST(CheckRequestHead, OtherExpectationIs417) {
  EXPECT_EQ(statusOf(makeHead("POST", "/", {{"host", "t"}, {"expect", "something-else"}})), 417);
}

TEST(CheckRequestHead, ExpectIgnoredInHttp10) {
  base::RequestHead h = makeHead("POST", "/", {{"content-length", "5"}, {"expect", "weird"}});
  ParsedHead p = http10();
  p.content_length = 5;
  HeadVerdict v = checkRequestHead(h, p, kMaxBody);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v.meta.expect_continue);
  EXPECT_FALSE(h.headers.has("expect"));
}

// ---------------------------------------------------------------------------------------------
// Field lines

TEST(CheckFieldLine, EmptyNameIs400) {
  std::string v = "b";
  EXPECT_EQ(checkFieldLine("", v), 400);
}

TEST(CheckFieldLine, TrailingWhitespaceTrimmed) {
  std::string v = "value \t ";
  EXPECT_EQ(checkFieldLine("x-a", v), 0);
  EXPECT_EQ(v, "value");
  std::string inner = "a\tb c";
  EXPECT_EQ(checkFieldLine("x-a", inner), 0) << "HTAB and SP inside a value are fine";
  EXPECT_EQ(inner, "a\tb c");
}

TEST(CheckFieldLine, ControlBytesInValueAre400) {
  for (std::string v : {std::string("a\rb"), std::string("a\nb"), std::string("a\0b", 3),
                        std::string("a\x01"
                                    "b"),
                        std::string("a\x7f"
                                    "b"),
                        std::string("a\x1f")}) {
    EXPECT_EQ(checkFieldLine("x-a", v), 400);
  }
  std::string obs = "caf\xc3\xa9";  // obs-text is allowed
  EXPECT_EQ(checkFieldLine("x-a", obs), 0);
}

}  // namespace
}  // namespace sluice::proxy
