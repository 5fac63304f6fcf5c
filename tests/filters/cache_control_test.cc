#include "filters/cache_control.h"

#include <gtest/gtest.h>

namespace sluice::filters {
namespace {

TEST(CacheControl, Directives) {
  CacheControl cc = parseCacheControl("public, max-age=60, s-maxage=\"30\", no-transform");
  EXPECT_TRUE(cc.is_public);
  EXPECT_TRUE(cc.no_transform);
  EXPECT_EQ(cc.max_age, 60);
  EXPECT_EQ(cc.s_maxage, 30);
  EXPECT_FALSE(cc.no_store);
  cc = parseCacheControl("No-Store, PRIVATE=\"set-cookie, x\", no-cache");
  EXPECT_TRUE(cc.no_store);
  EXPECT_TRUE(cc.is_private);
  EXPECT_TRUE(cc.no_cache);
  cc = parseCacheControl("max-age=abc, stale-while-revalidate=10, stale-if-error=300, "
                         "proxy-revalidate");
  EXPECT_EQ(cc.max_age, 0);  // invalid delta-seconds: stale
  EXPECT_EQ(cc.stale_while_revalidate, 10);
  EXPECT_EQ(cc.stale_if_error, 300);
  EXPECT_TRUE(cc.must_revalidate);
  EXPECT_EQ(parseCacheControl("max-age=99999999999999").max_age, 2147483648LL);
}

TEST(CacheControl, RequestDirectives) {
  CacheControl cc = parseCacheControl("Only-If-Cached, min-fresh=20, max-stale=5");
  EXPECT_TRUE(cc.only_if_cached);
  EXPECT_EQ(cc.min_fresh, 20);
  EXPECT_EQ(cc.max_stale, 5);
  EXPECT_EQ(parseCacheControl("max-stale").max_stale, kAnyStale);
  EXPECT_FALSE(parseCacheControl("max-age=1").max_stale);
  HeaderMap h;
  h.add("cache-control", "max-age=1");
  h.add("cache-control", "only-if-cached");
  EXPECT_TRUE(parseCacheControl(h).only_if_cached);
}

TEST(CacheControl, SeveralFieldsCombine) {
  HeaderMap h;
  h.add("cache-control", "max-age=10");
  h.add("cache-control", "private");
  CacheControl cc = parseCacheControl(h);
  EXPECT_EQ(cc.max_age, 10);
  EXPECT_TRUE(cc.is_private);
}

TEST(HttpDate, ThreeForms) {
  const int64_t t = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), t);
  EXPECT_EQ(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), t);
  EXPECT_EQ(parseHttpDate("Sun Nov  6 08:49:37 1994"), t);
  EXPECT_FALSE(parseHttpDate("0"));
  EXPECT_FALSE(parseHttpDate("Sun, 06 Nov 1994 25:49:37 GMT"));
  EXPECT_FALSE(parseHttpDate("yesterday"));
}

TEST(Freshness, ExplicitLifetimeOrder) {
  HeaderMap h;
  h.add("expires", "Sun, 06 Nov 1994 08:50:37 GMT");
  const int64_t date = 784111777;
  CacheControl none;
  EXPECT_EQ(explicitLifetime(none, h, date), 60'000);
  CacheControl ma = parseCacheControl("max-age=5");
  EXPECT_EQ(explicitLifetime(ma, h, date), 5'000);
  CacheControl sm = parseCacheControl("max-age=5, s-maxage=7");
  EXPECT_EQ(explicitLifetime(sm, h, date), 7'000);
  HeaderMap bad;
  bad.add("expires", "0");
  EXPECT_EQ(explicitLifetime(none, bad, date), 0);  // invalid Expires: already stale
  EXPECT_FALSE(explicitLifetime(none, HeaderMap{}, date));  // says nothing: heuristic
}

TEST(Freshness, AgeArithmetic) {
  // Requested at t=1000 s, answered 2 s later; the origin's Date is 1 s before the response and
  // it says the response is already 5 s old (from an inner cache).
  ResponseTiming t;
  t.request_time_ms = 1'000'000;
  t.response_time_ms = 1'002'000;
  t.date_s = 1001;
  t.age_s = 5;
  // apparent_age = 1 s; corrected_age_value = 5 s + 2 s delay = 7 s.
  EXPECT_EQ(correctedInitialAge(t), 7'000);
  // A clock skewed ahead: Date in the future makes apparent_age 0.
  t.age_s.reset();
  t.date_s = 2000;
  EXPECT_EQ(correctedInitialAge(t), 2'000);
  // 30 s resident on top.
  EXPECT_EQ(currentAge(7'000, 1'002'000, 1'032'000), 37'000);
  EXPECT_EQ(currentAge(7'000, 1'002'000, 1'000'000), 7'000);  // clock went back: no negative
}

TEST(Freshness, ApparentAgeInWholeSeconds) {
  // Date has whole seconds: a response that arrives 0.9 s into the second its Date names is not
  // 0.9 s old (only the 5 ms it took count).
  ResponseTiming t;
  t.request_time_ms = 1'000'895;
  t.response_time_ms = 1'000'900;
  t.date_s = 1000;
  EXPECT_EQ(correctedInitialAge(t), 5);
  t.date_s = 998;  // two seconds old by the clocks
  EXPECT_EQ(correctedInitialAge(t), 2'000);
}

TEST(Freshness, AgeField) {
  HeaderMap h;
  EXPECT_FALSE(parseAgeField(h));
  h.add("age", " 42 ");
  EXPECT_EQ(parseAgeField(h), 42);
  h.set("age", "abc");
  EXPECT_FALSE(parseAgeField(h));
  h.set("age", "99999999999999");
  EXPECT_EQ(parseAgeField(h), 2147483648LL);
}

TEST(Freshness, HeuristicStatuses) {
  EXPECT_TRUE(heuristicallyCacheable(200));
  EXPECT_TRUE(heuristicallyCacheable(404));
  EXPECT_TRUE(heuristicallyCacheable(410));
  EXPECT_FALSE(heuristicallyCacheable(302));
  EXPECT_FALSE(heuristicallyCacheable(500));
  EXPECT_FALSE(heuristicallyCacheable(206));
}

TEST(Conditional, IfNoneMatchWeakComparison) {
  EXPECT_TRUE(etagListMatches("\"a\"", "\"a\""));
  EXPECT_TRUE(etagListMatches("W/\"a\"", "\"a\""));
  EXPECT_TRUE(etagListMatches("\"x\", W/\"a\"", "W/\"a\""));
  EXPECT_TRUE(etagListMatches("*", "\"q\""));
  EXPECT_FALSE(etagListMatches("\"a,b\"", "\"a\""));
  EXPECT_FALSE(etagListMatches("\"b\"", "\"a\""));
  EXPECT_FALSE(etagListMatches("\"a\"", ""));
}

}  // namespace
}  // namespace sluice::filters
