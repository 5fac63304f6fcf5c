// What the cache stores and for how long with its default settings (RFC 9111): heuristic
// freshness from Last-Modified, the forced ttl override, invalid Date / Expires / Age,
// CDN-Cache-Control ahead of Cache-Control (RFC 9213), and stale-if-error's limits.
#include "filters/cache_entry.h"

#include <gtest/gtest.h>

#include "tests/filters/cache_fixture.h"

namespace sluice::filters {
namespace {

using testing::delivered;
using testing::Env;
using testing::httpDate;
using testing::Req;

constexpr int64_t kDay = 86'400;

// Stores `h` (plus a Date of now) for `target`, then reports whether a request `later_ms` on
// was a hit.
bool hitAfter(Env& env, const char* target, std::vector<std::pair<const char*, const char*>> h,
              int64_t later_ms, int status = 200) {
  std::string date = httpDate(env.now / 1000);
  bool has_date = false;
  for (auto& [k, v] : h) has_date = has_date || std::string_view(k) == "date";
  if (!has_date) h.emplace_back("date", date.c_str());
  Req a(env, target);
  a.respond(status, h, "body");
  env.now += later_ms;
  Req b(env, target);
  bool hit = b.status == FilterStatus::Stop;
  if (!hit) b.respond(status, {}, "body");
  return hit;
}

TEST(CacheDefaults, NoExplicitFreshnessAndNoLastModifiedIsNotStored) {
  Env env;  // the defaults: no ttl, heuristics
  EXPECT_FALSE(env.cfg.ttl);
  EXPECT_FALSE(hitAfter(env, "/plain", {}, 1'000));
  EXPECT_FALSE(hitAfter(env, "/etag-only", {{"etag", "\"x\""}}, 1'000));
}

TEST(CacheDefaults, HeuristicFreshnessIsTenPercentOfTheLastModifiedAge) {
  Env env;
  // Modified 1000 s before Date: fresh for 100 s.
  std::string lm = httpDate(env.now / 1000 - 1000);
  EXPECT_TRUE(hitAfter(env, "/h1", {{"last-modified", lm.c_str()}}, 99'000));
  env.now += 1'500;  // now 100.5 s after it was stored
  EXPECT_EQ(Req(env, "/h1").status, FilterStatus::Continue);
  // Ten days old: 10% is a day, exactly the default cap of 24 h.
  std::string old = httpDate(env.now / 1000 - 10 * kDay);
  EXPECT_TRUE(hitAfter(env, "/h10", {{"last-modified", old.c_str()}}, (kDay - 10) * 1000));
  // A year old: still capped at 24 h.
  std::string year = httpDate(env.now / 1000 - 365 * kDay);
  EXPECT_FALSE(hitAfter(env, "/hy", {{"last-modified", year.c_str()}}, (kDay + 10) * 1000));
}

TEST(CacheDefaults, HeuristicsOnlyForHeuristicallyCacheableStatusesOrPublic) {
  Env env;
  std::string lm = httpDate(env.now / 1000 - 10 * kDay);
  EXPECT_TRUE(hitAfter(env, "/404", {{"last-modified", lm.c_str()}}, 60'000, 404));
  EXPECT_TRUE(hitAfter(env, "/301", {{"last-modified", lm.c_str()}}, 60'000, 301));
  EXPECT_FALSE(hitAfter(env, "/302", {{"last-modified", lm.c_str()}}, 60'000, 302));
  EXPECT_FALSE(hitAfter(env, "/500", {{"last-modified", lm.c_str()}}, 60'000, 500));
  EXPECT_TRUE(hitAfter(env, "/302p", {{"last-modified", lm.c_str()}, {"cache-control", "public"}},
                       60'000, 302));
}

TEST(CacheDefaults, FractionAndCapAreSettings) {
  config::CacheFilter cfg;
  cfg.heuristic_fraction = 0.5;
  cfg.heuristic_max = std::chrono::milliseconds(300'000);
  Env env(cfg);
  std::string lm = httpDate(env.now / 1000 - 100);
  EXPECT_TRUE(hitAfter(env, "/f", {{"last-modified", lm.c_str()}}, 49'000));  // 50% of 100 s
  std::string old = httpDate(env.now / 1000 - kDay);
  EXPECT_FALSE(hitAfter(env, "/c", {{"last-modified", old.c_str()}}, 301'000));  // capped
}

TEST(CacheDefaults, AForcedTtlOverridesTheHeuristic) {
  config::CacheFilter cfg;
  cfg.ttl = std::chrono::milliseconds(30'000);
  Env env(cfg);
  EXPECT_TRUE(hitAfter(env, "/t", {}, 29'000));  // no Last-Modified, still 30 s
  std::string lm = httpDate(env.now / 1000 - 10 * kDay);
  EXPECT_FALSE(hitAfter(env, "/t2", {{"last-modified", lm.c_str()}}, 31'000));  // not a day
  EXPECT_FALSE(hitAfter(env, "/t404", {}, 1'000, 404));  // 404s need negative_ttl
  EXPECT_TRUE(hitAfter(env, "/t5", {{"cache-control", "max-age=5"}}, 4'000));  // explicit wins
  EXPECT_FALSE(hitAfter(env, "/t6", {{"cache-control", "max-age=5"}}, 6'000));
}

TEST(CacheDates, ExpiresBesideAnInvalidDateCountsFromTheReceiveTime) {
  Env env;
  std::string expires = httpDate(env.now / 1000 + 100);
  EXPECT_TRUE(hitAfter(env, "/d1", {{"date", "yesterday"}, {"expires", expires.c_str()}}, 90'000));
  env.now += 20'000;  // 110 s after it was stored
  EXPECT_EQ(Req(env, "/d1").status, FilterStatus::Continue);
  // No Date at all: the same.
  Req a(env, "/d2");
  std::string e2 = httpDate(env.now / 1000 + 100);
  a.respond(200, {{"expires", e2.c_str()}}, "x");
  env.now += 90'000;
  EXPECT_EQ(Req(env, "/d2").status, FilterStatus::Stop);
}

TEST(CacheDates, AnInvalidExpiresIsAlreadyExpired) {
  Env env;
  EXPECT_FALSE(hitAfter(env, "/e0", {{"expires", "0"}}, 0));
  std::string lm = httpDate(env.now / 1000 - 10 * kDay);
  // Not even a heuristic: Expires is there, only invalid.
  EXPECT_FALSE(hitAfter(
      env, "/e1", {{"expires", "Sun, 06 nov 2050 08:49:37 GMT"}, {"last-modified", lm.c_str()}},
      1'000));
}

TEST(CacheDates, AnInvalidAgeIsIgnored) {
  Env env;
  // Age 7200.0 with max-age=3600: ignored, so fresh (not 2 h old).
  EXPECT_TRUE(hitAfter(env, "/a1", {{"cache-control", "max-age=3600"}, {"age", "7200.0"}}, 1'000));
  EXPECT_TRUE(hitAfter(env, "/a2", {{"cache-control", "max-age=3600"}, {"age", "-7200"}}, 1'000));
  EXPECT_FALSE(hitAfter(env, "/a3", {{"cache-control", "max-age=3600"}, {"age", "7200"}}, 1'000));
  // A valid Age counts, and the Age served adds the time resident.
  Req a(env, "/a4");
  std::string date = httpDate(env.now / 1000);
  a.respond(200, {{"cache-control", "max-age=3600"}, {"age", "100"}, {"date", date.c_str()}}, "x");
  env.now += 5'000;
  Req b(env, "/a4");
  ASSERT_EQ(b.cb.replies.size(), 1u);
  EXPECT_EQ(*b.cb.replies[0].headers.get("age"), "105");
}

TEST(CacheCdn, CdnCacheControlGoesAheadOfCacheControl) {
  Env env;
  // CDN-Cache-Control max-age beats Cache-Control no-store and a short max-age, and Expires.
  EXPECT_TRUE(hitAfter(
      env, "/c1", {{"cache-control", "no-store"}, {"cdn-cache-control", "max-age=600"}}, 500'000));
  EXPECT_TRUE(hitAfter(
      env, "/c2",
      {{"cache-control", "max-age=1"}, {"expires", "0"}, {"cdn-cache-control", "max-age=600"}},
      500'000));
  // ... and restricts too.
  EXPECT_FALSE(hitAfter(
      env, "/c3", {{"cache-control", "max-age=600"}, {"cdn-cache-control", "no-store"}}, 1'000));
  EXPECT_FALSE(hitAfter(
      env, "/c4", {{"cache-control", "max-age=600"}, {"cdn-cache-control", "private"}}, 1'000));
  EXPECT_FALSE(hitAfter(
      env, "/c5", {{"cache-control", "max-age=600"}, {"cdn-cache-control", "max-age=0"}}, 1'000));
  // Invalid: ignored, Cache-Control decides.
  EXPECT_TRUE(hitAfter(
      env, "/c6", {{"cache-control", "max-age=600"}, {"cdn-cache-control", "max-age=0,"}}, 1'000));
  // Forwarded unchanged by default (RFC 9213 §3).
  Req a(env, "/c7");
  base::ResponseHead r = a.respond(200, {{"cdn-cache-control", "max-age=600"}}, "x");
  EXPECT_EQ(*r.headers.get("cdn-cache-control"), "max-age=600");
  Req b(env, "/c7");
  ASSERT_EQ(b.cb.replies.size(), 1u);
  EXPECT_EQ(*b.cb.replies[0].headers.get("cdn-cache-control"), "max-age=600");
}

TEST(CacheCdn, UseAndRemoveOrIgnore) {
  config::CacheFilter cfg;
  cfg.cdn_cache_control = config::CdnCacheControl::UseAndRemove;
  Env env(cfg);
  Req a(env, "/r");
  base::ResponseHead r = a.respond(200, {{"cdn-cache-control", "max-age=600"}}, "x");
  EXPECT_FALSE(r.headers.get("cdn-cache-control"));
  env.now += 100'000;
  Req b(env, "/r");
  ASSERT_EQ(b.cb.replies.size(), 1u);  // used: fresh for 600 s
  EXPECT_FALSE(b.cb.replies[0].headers.get("cdn-cache-control"));

  config::CacheFilter ig;
  ig.cdn_cache_control = config::CdnCacheControl::Ignore;
  Env env2(ig);
  EXPECT_FALSE(hitAfter(env2, "/i", {{"cdn-cache-control", "max-age=600"}}, 1'000));
}

TEST(CacheStaleIfError, ResponseRequestAndConfigWindowsWithinRfc9111) {
  Env env;
  Req a(env, "/s");
  a.respond(200, {{"cache-control", "max-age=1, stale-if-error=60"}, {"etag", "\"1\""}}, "old");
  env.now += 30'000;
  Req b(env, "/s");
  ASSERT_EQ(b.status, FilterStatus::Continue);
  b.respond(502, {}, "");  // the proxy's own 502 for a refused connection passes the filter too
  ASSERT_EQ(b.cb.replies.size(), 1u);
  EXPECT_EQ(b.cb.replies[0].body, "old");
  EXPECT_EQ(*b.cb.replies[0].headers.get("x-cache"), "STALE");

  // No permission in the response or config: the request's own stale-if-error.
  Req c(env, "/q");
  c.respond(200, {{"cache-control", "max-age=1"}, {"etag", "\"1\""}}, "old");
  env.now += 10'000;
  Req d(env, "/q");
  d.respond(503, {}, "");
  EXPECT_TRUE(d.cb.replies.empty());  // the 503 goes to the client
  Req e(env, "/q", {{"cache-control", "stale-if-error=60"}});
  e.respond(504, {}, "");
  ASSERT_EQ(e.cb.replies.size(), 1u);
  EXPECT_EQ(e.cb.replies[0].body, "old");
  Req f(env, "/q", {{"cache-control", "stale-if-error=5"}});  // 9 s stale: beyond 5
  f.respond(504, {}, "");
  EXPECT_TRUE(f.cb.replies.empty());

  // must-revalidate, proxy-revalidate and s-maxage forbid it whatever the windows say.
  config::CacheFilter cfg;
  cfg.stale_if_error = std::chrono::milliseconds(600'000);
  Env env2(cfg);
  for (const char* cc : {"max-age=1, must-revalidate, stale-if-error=60",
                         "max-age=1, proxy-revalidate", "s-maxage=1"}) {
    std::string t = std::string("/mr") + std::to_string(env2.now);
    Req g(env2, t.c_str());
    g.respond(200, {{"cache-control", cc}, {"etag", "\"1\""}}, "old");
    env2.now += 5'000;
    Req h(env2, t.c_str(), {{"cache-control", "stale-if-error=60"}});
    h.respond(502, {}, "");
    EXPECT_TRUE(h.cb.replies.empty()) << cc;
  }
  // The config's window alone allows it.
  Req i(env2, "/cfg");
  i.respond(200, {{"cache-control", "max-age=1"}}, "old");
  env2.now += 300'000;
  Req j(env2, "/cfg");
  j.respond(500, {}, "");
  ASSERT_EQ(j.cb.replies.size(), 1u);
  EXPECT_EQ(j.cb.replies[0].body, "old");
}

}  // namespace
}  // namespace sluice::filters
