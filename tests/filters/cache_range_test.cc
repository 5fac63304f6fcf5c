// Byte ranges: the Range parser, If-Range, the 206/416 bodies, and the cache filter answering
// ranges from a stored 200 (RFC 9110 §14, RFC 9111 §3.4).
#include "filters/cache_range.h"

#include <gtest/gtest.h>

#include "tests/filters/cache_fixture.h"

namespace sluice::filters {
namespace {

using testing::delivered;
using testing::Env;
using testing::httpDate;
using testing::Req;
using Outcome = RangeSet::Outcome;

std::string spans(const RangeSet& s) {
  std::string out;
  for (const ByteRange& r : s.ranges) {
    out += std::to_string(r.first) + "-" + std::to_string(r.last) + ";";
  }
  return out;
}

TEST(RangeParse, FormsAndClamping) {
  RangeSet s = parseRange("bytes=0-4", 10);
  EXPECT_EQ(s.outcome, Outcome::Satisfiable);
  EXPECT_EQ(spans(s), "0-4;");
  EXPECT_EQ(spans(parseRange("bytes=5-", 10)), "5-9;");     // open
  EXPECT_EQ(spans(parseRange("bytes=-3", 10)), "7-9;");     // suffix
  EXPECT_EQ(spans(parseRange("bytes=-30", 10)), "0-9;");    // suffix longer than the body
  EXPECT_EQ(spans(parseRange("bytes=8-100", 10)), "8-9;");  // last clamped
  EXPECT_EQ(spans(parseRange("Bytes = 0-0 , 2-3,,-1", 10)), "0-0;2-3;9-9;");
  EXPECT_EQ(spans(parseRange("bytes=0-1, 20-30", 10)), "0-1;");  // unsatisfiable ones drop
  EXPECT_EQ(spans(parseRange("bytes=0-99999999999999999999999", 10)), "0-9;");
}

TEST(RangeParse, UnsatisfiableAndIgnored) {
  EXPECT_EQ(parseRange("bytes=10-", 10).outcome, Outcome::Unsatisfiable);
  EXPECT_EQ(parseRange("bytes=10-20, 30-", 10).outcome, Outcome::Unsatisfiable);
  EXPECT_EQ(parseRange("bytes=-0", 10).outcome, Outcome::Unsatisfiable);
  for (const char* ignored : {"items=0-1", "bytes=5-1", "bytes=a-b", "bytes=1",
                              "bytes=", "bytes=0-1,x", "0-1", "bytes=--1", "bytes=1-2-3"}) {
    EXPECT_EQ(parseRange(ignored, 10).outcome, Outcome::Ignore) << ignored;
  }
  EXPECT_EQ(parseRange("bytes=0-1", 0).outcome, Outcome::Ignore);  // empty body: served whole
  std::string many = "bytes=0-0";
  for (size_t i = 1; i <= kMaxRanges; ++i)
    many += "," + std::to_string(i) + "-" + std::to_string(i);
  EXPECT_EQ(parseRange(many, 100).outcome, Outcome::Ignore);
}

TEST(RangeReplyBody, SinglePartMultipartAnd416) {
  std::string body = "0123456789";
  std::string ct = "text/plain";
  RangeReply one = buildRangeReply(parseRange("bytes=2-4", 10), body, &ct, "B");
  EXPECT_EQ(one.status, 206);
  EXPECT_FALSE(one.multipart);
  EXPECT_EQ(one.body, "234");
  EXPECT_EQ(*one.fields.get("content-range"), "bytes 2-4/10");

  RangeReply multi = buildRangeReply(parseRange("bytes=0-1,-2", 10), body, &ct, "B");
  EXPECT_EQ(multi.status, 206);
  EXPECT_TRUE(multi.multipart);
  EXPECT_EQ(*multi.fields.get("content-type"), "multipart/byteranges; boundary=B");
  EXPECT_EQ(multi.body,
            "--B\r\ncontent-type: text/plain\r\ncontent-range: bytes 0-1/10\r\n\r\n01\r\n"
            "--B\r\ncontent-type: text/plain\r\ncontent-range: bytes 8-9/10\r\n\r\n89\r\n"
            "--B--\r\n");

  RangeReply none = buildRangeReply(parseRange("bytes=20-", 10), body, &ct, "B");
  EXPECT_EQ(none.status, 416);
  EXPECT_EQ(*none.fields.get("content-range"), "bytes */10");
  EXPECT_NE(makeBoundary(), makeBoundary());
}

TEST(IfRange, StrongEtagOrStrongDate) {
  base::HeaderMap h;
  h.add("etag", "\"v1\"");
  h.add("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT");
  h.add("date", "Sun, 06 Nov 1994 09:49:37 GMT");
  EXPECT_TRUE(ifRangeMatches("\"v1\"", h));
  EXPECT_FALSE(ifRangeMatches("\"v2\"", h));
  EXPECT_FALSE(ifRangeMatches("W/\"v1\"", h));  // weak: never for If-Range
  EXPECT_TRUE(ifRangeMatches("Sun, 06 Nov 1994 08:49:37 GMT", h));
  EXPECT_FALSE(ifRangeMatches("Sun, 06 Nov 1994 08:49:38 GMT", h));
  h.set("etag", "W/\"v1\"");
  EXPECT_FALSE(ifRangeMatches("\"v1\"", h));       // the stored one is weak
  h.set("date", "Sun, 06 Nov 1994 08:49:37 GMT");  // Last-Modified == Date: a weak validator
  EXPECT_FALSE(ifRangeMatches("Sun, 06 Nov 1994 08:49:37 GMT", h));
  EXPECT_FALSE(ifRangeMatches("garbage", h));
}

// The filter: a stored complete 200 answers ranges itself.
TEST(CacheRanges, ServedFromAStoredComplete200) {
  Env env;
  Req fill(env, "/r");
  fill.respond(200,
               {{"cache-control", "max-age=60"}, {"etag", "\"e\""}, {"content-type", "text/plain"}},
               "abcdefghij");

  Req one(env, "/r", {{"range", "bytes=1-3"}});
  ASSERT_EQ(one.status, FilterStatus::Stop);
  ASSERT_EQ(one.cb.replies.size(), 1u);
  EXPECT_EQ(one.cb.replies[0].status, 206);
  EXPECT_EQ(one.cb.replies[0].body, "bcd");
  base::HeaderMap got = delivered(one);
  EXPECT_EQ(*got.get("content-range"), "bytes 1-3/10");
  EXPECT_EQ(*got.get("content-type"), "text/plain");
  EXPECT_EQ(*got.get("x-cache"), "HIT");
  EXPECT_EQ(*got.get("etag"), "\"e\"");

  Req multi(env, "/r", {{"range", "bytes=0-0,-1"}});
  ASSERT_EQ(multi.cb.replies.size(), 1u);
  EXPECT_EQ(multi.cb.replies[0].status, 206);
  base::HeaderMap mh = delivered(multi);
  std::string ct = *mh.get("content-type");
  ASSERT_EQ(ct.rfind("multipart/byteranges; boundary=", 0), 0u) << ct;
  std::string boundary = ct.substr(ct.find('=') + 1);
  EXPECT_NE(multi.cb.replies[0].body.find("--" + boundary +
                                          "\r\ncontent-type: text/plain\r\n"
                                          "content-range: bytes 9-9/10\r\n\r\nj\r\n"),
            std::string::npos);
  EXPECT_FALSE(mh.get("content-range"));

  Req bad(env, "/r", {{"range", "bytes=10-"}});
  ASSERT_EQ(bad.cb.replies.size(), 1u);
  EXPECT_EQ(bad.cb.replies[0].status, 416);
  EXPECT_EQ(*bad.cb.replies[0].headers.get("content-range"), "bytes */10");

  // If-Range: a matching strong ETag gets the range, another one the whole 200.
  Req match(env, "/r", {{"range", "bytes=0-1"}, {"if-range", "\"e\""}});
  EXPECT_EQ(match.cb.replies.at(0).status, 206);
  Req stale_validator(env, "/r", {{"range", "bytes=0-1"}, {"if-range", "\"old\""}});
  EXPECT_EQ(stale_validator.cb.replies.at(0).status, 200);
  EXPECT_EQ(stale_validator.cb.replies.at(0).body, "abcdefghij");

  // HEAD ignores Range; another unit is ignored; neither reached the origin.
  Req head(env, "/r", {{"range", "bytes=0-1"}}, "HEAD");
  EXPECT_EQ(head.cb.replies.at(0).status, 200);
  Req items(env, "/r", {{"range", "items=0-1"}});
  EXPECT_EQ(items.cb.replies.at(0).status, 200);
  EXPECT_EQ(env.hit.value(), 7u);
}

TEST(CacheRanges, AMissGoesToTheOriginAndA206IsNotStored) {
  Env env;
  Req a(env, "/m", {{"range", "bytes=0-1"}});
  ASSERT_EQ(a.status, FilterStatus::Continue);
  EXPECT_EQ(*a.head.headers.get("range"), "bytes=0-1");  // forwarded as it is
  base::ResponseHead r =
      a.respond(206, {{"cache-control", "max-age=60"}, {"content-range", "bytes 0-1/10"}}, "ab");
  EXPECT_EQ(*r.headers.get("x-cache"), "MISS");
  Req b(env, "/m");
  EXPECT_EQ(b.status, FilterStatus::Continue);  // the 206 was not stored
  b.respond(200, {{"cache-control", "max-age=60"}}, "abcdefghij");
  // An origin that ignores Range answers 200: stored, and later ranges are hits.
  Req c(env, "/m2", {{"range", "bytes=0-1"}});
  c.respond(200, {{"cache-control", "max-age=60"}}, "0123456789");
  Req d(env, "/m2", {{"range", "bytes=-2"}});
  ASSERT_EQ(d.cb.replies.size(), 1u);
  EXPECT_EQ(d.cb.replies[0].body, "89");
}

TEST(CacheRanges, OnlyFrom200s) {
  config::CacheFilter cfg;
  cfg.negative_ttl = std::chrono::milliseconds(60'000);
  Env env(cfg);
  Req a(env, "/404");
  a.respond(404, {}, "not here");
  Req b(env, "/404", {{"range", "bytes=0-1"}});
  ASSERT_EQ(b.cb.replies.size(), 1u);
  EXPECT_EQ(b.cb.replies[0].status, 404);  // Range applies to a 200 only
  EXPECT_EQ(b.cb.replies[0].body, "not here");
}

}  // namespace
}  // namespace sluice::filters
