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
  cc = parseCacheControl(
      "max-age=abc, stale-while-revalidate=10, stale-if-error=300, "
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
  base::HeaderMap h;
  h.add("cache-control", "max-age=1");
  h.add("cache-control", "only-if-cached");
  EXPECT_TRUE(parseCacheControl(h).only_if_cached);
}

TEST(CacheControl, SeveralFieldsCombine) {
  base::HeaderMap h;
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

TEST(HttpDate, OnlyTheGrammarOfRfc9110) {
  // Case-sensitive names, one SP, GMT, four-digit years in IMF-fixdate, a real day name.
  EXPECT_TRUE(parseHttpDate("  Sun, 06 Nov 1994 08:49:37 GMT "));  // OWS around the value
  for (const char* bad : {
           "Sun, 06 nov 1994 08:49:37 GMT",    // month case
           "sun, 06 Nov 1994 08:49:37 GMT",    // weekday case
           "Sun, 06 Nov 1994 08:49:37 gmt",    // zone case
           "Sun, 06 Nov 1994 08:49:37 UTC",    // zone
           "Sun,  06 Nov 1994 08:49:37 GMT",   // two spaces
           "Sun 06 Nov 1994 08:49:37 GMT",     // no comma
           "Xyz, 06 Nov 1994 08:49:37 GMT",    // no such day
           "Sun, 06 Nov 94 08:49:37 GMT",      // two-digit year in IMF-fixdate
           "Sun, 06-Nov-1994 08:49:37 GMT",    // dashes in IMF-fixdate
           "Sun, 06 Nov 1994 8:49:37 GMT",     // one-digit hour
           "Sun, 06 Nov 1994 08.49.37 GMT",    // periods
           "Sun, 06 Nov 1994 08:49:37",        // no zone
           "Sun, 06 Nov 1994 08:49:37 +0000",  // offset
           "Sun, -6 Nov 1994 08:49:37 GMT",    // sign
           "Sun, 06 Nov 1994 08:49:37 GMT x",  // trailing text
       }) {
    EXPECT_FALSE(parseHttpDate(bad)) << bad;
  }
}

TEST(Freshness, ExplicitLifetimeOrder) {
  base::HeaderMap h;
  h.add("expires", "Sun, 06 Nov 1994 08:50:37 GMT");
  const int64_t date = 784111777;
  CacheControl none;
  EXPECT_EQ(explicitLifetime(none, h, date), 60'000);
  CacheControl ma = parseCacheControl("max-age=5");
  EXPECT_EQ(explicitLifetime(ma, h, date), 5'000);
  CacheControl sm = parseCacheControl("max-age=5, s-maxage=7");
  EXPECT_EQ(explicitLifetime(sm, h, date), 7'000);
  base::HeaderMap bad;
  bad.add("expires", "0");
  EXPECT_EQ(explicitLifetime(none, bad, date), 0);                // invalid Expires: already stale
  EXPECT_FALSE(explicitLifetime(none, base::HeaderMap{}, date));  // says nothing: heuristic
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
  base::HeaderMap h;
  EXPECT_FALSE(parseAgeField(h));
  h.add("age", " 42 ");
  EXPECT_EQ(parseAgeField(h), 42);
  h.set("age", "abc");
  EXPECT_FALSE(parseAgeField(h));
  h.set("age", "99999999999999");
  EXPECT_EQ(parseAgeField(h), 2147483648LL);
  // Anything but one non-negative integer is invalid and ignored (RFC 9111 §5.1).
  for (const char* bad : {"7200.0", "1.5", "-7200", "7200a", "a7200", "7200, 0", "7 200", ""}) {
    h.set("age", bad);
    EXPECT_FALSE(parseAgeField(h)) << bad;
  }
  h.set("age", "7200");
  h.add("age", "0");  // two fields: a list
  EXPECT_FALSE(parseAgeField(h));
}

TEST(Freshness, HeuristicStatuses) {
  EXPECT_TRUE(heuristicallyCacheable(200));
  EXPECT_TRUE(heuristicallyCacheable(404));
  EXPECT_TRUE(heuristicallyCacheable(410));
  EXPECT_FALSE(heuristicallyCacheable(302));
  EXPECT_FALSE(heuristicallyCacheable(500));
  EXPECT_TRUE(heuristicallyCacheable(206));  // RFC 9110 §15.1 (a 206 is still never stored)
  EXPECT_TRUE(heuristicallyCacheable(308));
  EXPECT_TRUE(heuristicallyCacheable(501));
  EXPECT_FALSE(heuristicallyCacheable(307));
}

TEST(Freshness, HeuristicIsAFractionOfTheLastModifiedAgeCapped) {
  const int64_t date = 1'700'000'000;
  base::HeaderMap h;
  EXPECT_FALSE(heuristicLifetime(h, date, 0.1, 86'400'000));  // no Last-Modified: none
  h.add("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT");
  // Decades old: the cap.
  EXPECT_EQ(heuristicLifetime(h, date, 0.1, 86'400'000), 86'400'000);
  // Modified 1000 s before Date: 10% is 100 s; half is 500 s; 10 days: capped at 1 h here.
  const int64_t lm = 784111777;
  EXPECT_EQ(heuristicLifetime(h, lm + 1000, 0.1, 86'400'000), 100'000);
  EXPECT_EQ(heuristicLifetime(h, lm + 1000, 0.5, 86'400'000), 500'000);
  EXPECT_EQ(heuristicLifetime(h, lm + 864'000, 0.1, 3'600'000), 3'600'000);
  EXPECT_FALSE(heuristicLifetime(h, lm, 0.1, 86'400'000));       // modified "now": none
  EXPECT_FALSE(heuristicLifetime(h, lm - 10, 0.1, 86'400'000));  // in the future: none
  h.set("last-modified", "last tuesday");
  EXPECT_FALSE(heuristicLifetime(h, date, 0.1, 86'400'000));
}

TEST(Freshness, ExpiresAgainstTheReceiveTimeAndNotBesideCdnCacheControl) {
  // explicitLifetime gets the Date or, when it is invalid, the receive time: either way Expires
  // counts from it.
  base::HeaderMap h;
  h.add("expires", "Sun, 06 Nov 1994 08:50:37 GMT");
  EXPECT_EQ(explicitLifetime(CacheControl{}, h, 784111777 + 30), 30'000);
  EXPECT_EQ(explicitLifetime(CacheControl{}, h, 784111777 + 600), 0);   // past: stale
  EXPECT_FALSE(explicitLifetime(CacheControl{}, h, 784111777, false));  // ignored
  EXPECT_EQ(explicitLifetime(parseCacheControl("max-age=3"), h, 784111777, false), 3'000);
}

TEST(CacheControl, FirstOccurrenceOfADirectiveCounts) {
  EXPECT_EQ(parseCacheControl("max-age=3600, max-age=1").max_age, 3600);
  EXPECT_EQ(parseCacheControl("max-age=1, max-age=3600").max_age, 1);
  base::HeaderMap h;
  h.add("cache-control", "s-maxage=5");
  h.add("cache-control", "s-maxage=500, max-age=7");
  CacheControl cc = parseCacheControl(h);
  EXPECT_EQ(cc.s_maxage, 5);
  EXPECT_EQ(cc.max_age, 7);
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
