#include "proxy/http1/request_line.h"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

RequestLineFix fixOf(std::string_view line) {
  RequestLineFix f;
  fixRequestLine(line, f);
  return f;
}

TEST(RequestLine, KnownMethodsAndVersionsAreLeftAlone) {
  for (const char* line : {"GET / HTTP/1.1\r", "M-SEARCH * HTTP/1.1", "PROPFIND /x HTTP/1.0\r",
                           "GET / HTTP/2.0\r", "GET / HTTP/1.10\r", "GET / http/1.1\r"}) {
    EXPECT_FALSE(fixOf(line).changed) << line;
  }
}

TEST(RequestLine, UnknownMethodsReachTheParserAsPostAndKeepTheirName) {
  RequestLineFix f = fixOf("FROB /x?y HTTP/1.1\r");
  ASSERT_TRUE(f.changed);
  EXPECT_EQ(f.line, "POST /x?y HTTP/1.1\r");
  EXPECT_EQ(f.method, "FROB");
  EXPECT_FALSE(f.unsupported_version);
  // Methods are case-sensitive: `get` is not GET.
  f = fixOf("get / HTTP/1.1");
  ASSERT_TRUE(f.changed);
  EXPECT_EQ(f.line, "POST / HTTP/1.1");
  EXPECT_EQ(f.method, "get");
  EXPECT_EQ(fixOf("QUERY /q HTTP/1.1\r").method, "QUERY");
  EXPECT_EQ(fixOf("X-Custom_1.2 / HTTP/1.1\r").method, "X-Custom_1.2");
}

TEST(RequestLine, NonTokenMethodsAreLeftForTheParserToReject) {
  EXPECT_FALSE(fixOf("G(T / HTTP/1.1\r").changed);
  EXPECT_FALSE(fixOf("G\"T / HTTP/1.1\r").changed);
  EXPECT_FALSE(fixOf(" GET / HTTP/1.1\r").changed);
  EXPECT_FALSE(fixOf("GET\r").changed);
  EXPECT_FALSE(fixOf("FROB /\r").changed);  // no version: HTTP/0.9-style, llhttp's call
}

TEST(RequestLine, HigherMinorVersionsAreReadAsHttp11) {
  RequestLineFix f = fixOf("GET /a HTTP/1.2\r");
  ASSERT_TRUE(f.changed);
  EXPECT_EQ(f.line, "GET /a HTTP/1.1\r");
  EXPECT_TRUE(f.method.empty());
  EXPECT_FALSE(f.unsupported_version);
  EXPECT_EQ(fixOf("GET /a HTTP/1.9").line, "GET /a HTTP/1.1");
}

TEST(RequestLine, LaterMajorVersionsAreUnsupported) {
  for (const char* line : {"GET / HTTP/3.0\r", "GET / HTTP/9.9\r", "GET / HTTP/2.1\r"}) {
    RequestLineFix f = fixOf(line);
    ASSERT_TRUE(f.changed) << line;
    EXPECT_TRUE(f.unsupported_version) << line;
    EXPECT_EQ(f.line, "GET / HTTP/1.1\r") << line;
  }
  RequestLineFix f = fixOf("FROB / HTTP/3.0");
  EXPECT_EQ(f.line, "POST / HTTP/1.1");
  EXPECT_EQ(f.method, "FROB");
  EXPECT_TRUE(f.unsupported_version);
}

TEST(HostAuthority, AcceptsNamesAddressesAndPorts) {
  for (const char* a : {"example.com", "example.com:8080", "a-b_c.~x", "127.0.0.1:80", "[::1]",
                        "[::1]:443", "", "a:", "xn--bcher-kva.example:65535"}) {
    EXPECT_TRUE(validHostAuthority(a)) << a;
  }
}

TEST(HostAuthority, RefusesWhatIsNoAuthority) {
  for (const char* a : {"a:xyz", "a:99999", "a:65536", "a:000001", "[::1", "[]", "[::1]x", "[::g]",
                        "a b", "a,b", "a/b", "user@a", "a\\b", "a:1:2", "\"a\""}) {
    EXPECT_FALSE(validHostAuthority(a)) << a;
  }
}

TEST(RequestLine, KnowsLlhttpsTable) {
  EXPECT_TRUE(llhttpKnowsMethod("GET"));
  EXPECT_TRUE(llhttpKnowsMethod("M-SEARCH"));
  EXPECT_TRUE(llhttpKnowsMethod("SOURCE"));
  EXPECT_FALSE(llhttpKnowsMethod("get"));
  EXPECT_FALSE(llhttpKnowsMethod("DESCRIBE"));  // RTSP only
}

}  // namespace
}  // namespace sluice::proxy
