// Tests for proxy/http2/http2_request.h: an HTTP/2 request header block into RequestHead and
// RequestMeta under the HTTP/1.1 limits and the header list budget, and the application's own
// rules (RFC 9113 §8.3.1 :authority vs Host, §8.2.3 cookies, CONNECT, Expect, content-length).
#include "proxy/http2/http2_request.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace sluice::proxy {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

Http2RequestLimits limits() {
  Http2RequestLimits l;
  l.max_header_list_size = 1000;
  l.max_header_bytes = 2000;
  l.max_headers = 5;
  l.max_body_bytes = 100;
  return l;
}

int build(const Fields& fields, bool end_stream, base::RequestHead& head, RequestMeta& meta,
          Http2RequestLimits l = limits()) {
  Http2RequestBuilder b(l);
  for (const auto& [n, v] : fields) b.addField(n, v);
  return b.finishHead(end_stream, head, meta);
}

Fields get(std::string path = "/a?b=1") {
  return {{":method", "GET"},
          {":scheme", "https"},
          {":path", std::move(path)},
          {":authority", "Example.COM:8443"}};
}

TEST(Http2Request, PseudoHeadersMakeTheHead) {
  base::RequestHead h;
  RequestMeta m;
  Fields f = get();
  f.push_back({"accept", "*/*"});
  ASSERT_EQ(build(f, true, h, m), 0);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/a?b=1");
  EXPECT_EQ(h.host, "example.com:8443");
  EXPECT_EQ(h.version_major, 2);
  ASSERT_EQ(h.headers.size(), 1u);
  EXPECT_EQ(*h.headers.get("accept"), "*/*");
  EXPECT_EQ(m.framing, BodyFraming::None);
}

TEST(Http2Request, BodyFramingFromEndStreamAndContentLength) {
  base::RequestHead h;
  RequestMeta m;
  Fields f = get();
  f[0].second = "POST";
  ASSERT_EQ(build(f, false, h, m), 0);
  EXPECT_EQ(m.framing, BodyFraming::Chunked);  // length unknown
  f.push_back({"content-length", "42"});
  ASSERT_EQ(build(f, false, h, m), 0);
  EXPECT_EQ(m.framing, BodyFraming::Length);
  EXPECT_EQ(m.content_length, 42u);
  f.back().second = "101";
  EXPECT_EQ(build(f, false, h, m), 413);
  f.back().second = "4x";
  EXPECT_EQ(build(f, false, h, m), 400);
}

TEST(Http2Request, HostMustNameTheAuthority) {
  base::RequestHead h;
  RequestMeta m;
  Fields f = get();
  f.push_back({"host", "example.com:8443"});
  EXPECT_EQ(build(f, true, h, m), 0);
  EXPECT_FALSE(h.headers.has("host"));  // the host is head.host
  f.back().second = "other.example";
  EXPECT_EQ(build(f, true, h, m), 400);
  Fields no_authority = {
      {":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "h.example"}};
  ASSERT_EQ(build(no_authority, true, h, m), 0);
  EXPECT_EQ(h.host, "h.example");
  no_authority.pop_back();
  EXPECT_EQ(build(no_authority, true, h, m), 400);
}

TEST(Http2Request, CookiesAreJoined) {
  base::RequestHead h;
  RequestMeta m;
  Fields f = get();
  f.push_back({"cookie", "a=1"});
  f.push_back({"cookie", "b=2"});
  ASSERT_EQ(build(f, true, h, m), 0);
  EXPECT_EQ(h.headers.count("cookie"), 1u);
  EXPECT_EQ(*h.headers.get("cookie"), "a=1; b=2");
}

TEST(Http2Request, RefusedRequests) {
  base::RequestHead h;
  RequestMeta m;
  Fields connect = {{":method", "CONNECT"}, {":authority", "x.example:443"}};
  EXPECT_EQ(build(connect, false, h, m), 405);
  EXPECT_EQ(build(get("/a#frag"), true, h, m), 400);
  EXPECT_EQ(build(get("*"), true, h, m), 400);  // only OPTIONS may ask for *
  Fields options = get("*");
  options[0].second = "OPTIONS";
  EXPECT_EQ(build(options, true, h, m), 0);
  Fields expect = get();
  expect.push_back({"expect", "something"});
  EXPECT_EQ(build(expect, false, h, m), 417);
  expect.back().second = "100-continue";
  EXPECT_EQ(build(expect, false, h, m), 0);
  EXPECT_TRUE(m.expect_continue);
}

TEST(Http2Request, LimitsAnswer431) {
  base::RequestHead h;
  RequestMeta m;
  Fields f = get();
  for (int i = 0; i < 5; ++i) f.push_back({"x-" + std::to_string(i), "v"});
  EXPECT_EQ(build(f, true, h, m), 0);
  f.push_back({"x-6", "v"});  // one field over max_headers
  EXPECT_EQ(build(f, true, h, m), 431);
  Fields big = get();
  big.push_back({"x-big", std::string(950, 'a')});  // over the list budget (name+value+32)
  EXPECT_EQ(build(big, true, h, m), 431);
  Http2RequestLimits l = limits();
  l.max_header_list_size = 100000;
  l.max_header_bytes = 900;  // the HTTP/1.1 budget applies too
  EXPECT_EQ(build(big, true, h, m, l), 431);
}

TEST(Http2Request, Trailers) {
  Http2RequestBuilder b(limits());
  for (const auto& [n, v] : get()) b.addField(n, v);
  base::RequestHead h;
  RequestMeta m;
  ASSERT_EQ(b.finishHead(false, h, m), 0);
  b.beginTrailers();
  b.addField("grpc-status", "0");
  base::HeaderMap t;
  ASSERT_EQ(b.finishTrailers(t), 0);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(*t.get("grpc-status"), "0");
  b.beginTrailers();
  b.addField("x-big", std::string(2000, 'a'));
  EXPECT_EQ(b.finishTrailers(t), 431);
}

}  // namespace
}  // namespace sluice::proxy
