// Tests for proxy/http2/http2_fields.h: the header blocks sluice sends over HTTP/2 carry no
// connection-specific field (RFC 9113 §8.2.2), get sluice's proxied fields, and state the length
// as the response info says.
#include "proxy/http2/http2_fields.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::proxy {
namespace {

std::vector<std::string> lines(FieldList& f) {
  std::vector<std::string> out;
  const nghttp2_nv* nv = f.nv();
  for (size_t i = 0; i < f.size(); ++i) {
    out.push_back(std::string(reinterpret_cast<const char*>(nv[i].name), nv[i].namelen) + ": " +
                  std::string(reinterpret_cast<const char*>(nv[i].value), nv[i].valuelen));
  }
  return out;
}

base::ResponseHead upstreamHead() {
  base::ResponseHead h;
  h.status = 200;
  h.headers.add("content-type", "text/plain");
  h.headers.add("connection", "keep-alive, x-hop");
  h.headers.add("keep-alive", "timeout=5");
  h.headers.add("x-hop", "1");
  h.headers.add("transfer-encoding", "chunked");
  h.headers.add("x-request-id", "upstream-id");
  h.headers.add("content-length", "12");
  return h;
}

TEST(Http2Fields, ProxiedResponse) {
  ProxiedFields add;
  add.via = "1.1 sluice";
  add.request_id = "rid";
  add.date = "Fri, 04 Dec 2026 21:00:00 GMT";
  ResponseHeadInfo info;
  info.proxied = &add;
  info.has_length = true;
  info.length = 12;
  FieldList f;
  responseFields(upstreamHead(), info, f);
  EXPECT_EQ(lines(f),
            (std::vector<std::string>{":status: 200", "content-type: text/plain", "via: 1.1 sluice",
                                      "x-request-id: rid", "date: Fri, 04 Dec 2026 21:00:00 GMT",
                                      "content-length: 12"}));
}

TEST(Http2Fields, ListGrowsPastItsReservation) {
  FieldList f;
  f.reserve(1, 4);  // far too small: the buffer moves, and the list must move with it
  std::vector<std::string> want;
  for (int i = 0; i < 40; ++i) {
    std::string name = "x-field-" + std::to_string(i);
    std::string value(static_cast<size_t>(i), 'v');
    if (i % 3 == 0) {
      f.addUnindexed(name, value);
    } else {
      f.add(name, value);
    }
    want.push_back(name + ": " + value);
  }
  EXPECT_EQ(lines(f), want);
  EXPECT_EQ(f.nv()[3].flags, NGHTTP2_NV_FLAG_NO_INDEX);
  EXPECT_EQ(f.nv()[4].flags, NGHTTP2_NV_FLAG_NONE);
  EXPECT_EQ(f.name(39), "x-field-39");
  EXPECT_EQ(f.value(39), std::string(39, 'v'));
  f.clear();
  EXPECT_TRUE(f.empty());
  f.add("a", "b");
  EXPECT_EQ(lines(f), (std::vector<std::string>{"a: b"}));
}

TEST(Http2Fields, FinalHeadAsIs) {
  base::ResponseHead h;
  h.status = 404;
  h.headers.add("content-type", "text/plain");
  h.headers.add("upgrade", "h2c");
  ResponseHeadInfo info;  // length unknown: no content-length
  FieldList f;
  responseFields(h, info, f);
  EXPECT_EQ(lines(f), (std::vector<std::string>{":status: 404", "content-type: text/plain"}));
}

TEST(Http2Fields, BodilessAnswerKeepsItsLength) {
  base::ResponseHead h;
  h.status = 200;
  h.headers.add("content-length", "1234");
  ResponseHeadInfo info;
  info.bodiless = true;  // a HEAD answer
  FieldList f;
  responseFields(h, info, f);
  EXPECT_EQ(lines(f), (std::vector<std::string>{":status: 200", "content-length: 1234"}));
  h.status = 204;
  h.headers.clear();
  info.bodiless = true;
  info.has_length = true;
  info.length = 0;
  responseFields(h, info, f);
  EXPECT_EQ(lines(f), (std::vector<std::string>{":status: 204"}));
}

TEST(Http2Fields, InterimAndTrailers) {
  FieldList f;
  interimFields(nullptr, f);
  EXPECT_EQ(lines(f), (std::vector<std::string>{":status: 100"}));
  base::ResponseHead hints;
  hints.status = 103;
  hints.headers.add("link", "</a.css>; rel=preload");
  hints.headers.add("connection", "keep-alive");
  interimFields(&hints, f);
  EXPECT_EQ(lines(f), (std::vector<std::string>{":status: 103", "link: </a.css>; rel=preload"}));
  base::HeaderMap t;
  t.add("grpc-status", "0");
  t.add("content-length", "5");
  t.add("transfer-encoding", "chunked");
  t.add("x-checksum", "c0ffee");
  trailerFields(t, f);
  EXPECT_EQ(lines(f), (std::vector<std::string>{"grpc-status: 0", "x-checksum: c0ffee"}));
}

}  // namespace
}  // namespace sluice::proxy
