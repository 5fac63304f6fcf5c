// The cache filter against RFC 9111's request directives (only-if-cached, max-age, min-fresh,
// max-stale), age arithmetic, s-maxage, stored fields and conditional requests on a miss.
#include <gtest/gtest.h>

#include "tests/filters/cache_fixture.h"

namespace sluice::filters {
namespace {

using testing::delivered;
using testing::Env;
using testing::httpDate;
using testing::Req;

const std::string* field(Req& r, const char* name, size_t i = 0) {
  if (r.cb.replies.size() <= i) return nullptr;
  return r.cb.replies[i].headers.get(name);
}

config::CacheFilter withSwr(int64_t swr_ms, int64_t sie_ms = 0) {
  config::CacheFilter cfg;
  cfg.stale_while_revalidate = std::chrono::milliseconds(swr_ms);
  cfg.stale_if_error = std::chrono::milliseconds(sie_ms);
  return cfg;
}

TEST(CacheDirectives, OnlyIfCachedNeverGoesToTheOrigin) {
  Env env(withSwr(5'000));
  // Nothing stored: 504 from the cache itself.
  Req cold(env, "/o", {{"cache-control", "only-if-cached"}});
  EXPECT_EQ(cold.status, FilterStatus::Stop);
  ASSERT_EQ(cold.cb.replies.size(), 1u);
  EXPECT_EQ(cold.cb.replies[0].status, 504);
  EXPECT_EQ(cold.cb.replies[0].body, "");  // the exchange writes the body with the request id
  EXPECT_EQ(*field(cold, "x-cache"), "MISS");
  EXPECT_TRUE(cold.cb.delays.empty());
  EXPECT_TRUE(cold.cb.fetches.empty());
  // Its own reply passes its response phase untouched (the proxy's Content-Type stays).
  EXPECT_EQ(*delivered(cold).get("content-type"), "text/plain; charset=utf-8");

  // A fill is running: no waiting for it either.
  Req filler(env, "/o");
  EXPECT_EQ(filler.status, FilterStatus::Continue);
  Req during(env, "/o", {{"cache-control", "only-if-cached"}});
  ASSERT_EQ(during.cb.replies.size(), 1u);
  EXPECT_EQ(during.cb.replies[0].status, 504);
  EXPECT_TRUE(during.cb.delays.empty());
  filler.respond(200, {{"cache-control", "max-age=1"}, {"etag", "\"o\""}}, "body");

  // Fresh: served.
  Req fresh(env, "/o", {{"cache-control", "only-if-cached"}});
  ASSERT_EQ(fresh.cb.replies.size(), 1u);
  EXPECT_EQ(fresh.cb.replies[0].status, 200);
  EXPECT_EQ(*field(fresh, "x-cache"), "HIT");
  // Stale within stale_while_revalidate: served, and no background request either.
  env.now += 2'000;
  Req swr(env, "/o", {{"cache-control", "only-if-cached"}});
  ASSERT_EQ(swr.cb.replies.size(), 1u);
  EXPECT_EQ(*field(swr, "x-cache"), "STALE");
  EXPECT_TRUE(swr.cb.fetches.empty());
  // Past it: 504, where a plain request would revalidate.
  env.now += 5'000;
  Req late(env, "/o", {{"cache-control", "only-if-cached, max-stale=2"}});
  ASSERT_EQ(late.cb.replies.size(), 1u);
  EXPECT_EQ(late.cb.replies[0].status, 504);
  Req nocache(env, "/o", {{"cache-control", "only-if-cached, no-cache"}});
  ASSERT_EQ(nocache.cb.replies.size(), 1u);
  EXPECT_EQ(nocache.cb.replies[0].status, 504);
  // HEAD too.
  Req head(env, "/o", {{"cache-control", "only-if-cached"}}, "HEAD");
  ASSERT_EQ(head.cb.replies.size(), 1u);
  EXPECT_EQ(head.cb.replies[0].status, 504);
  EXPECT_EQ(env.miss.value(), 6u);  // the fill and five 504s
}

TEST(CacheDirectives, RequestMaxAgeRefusesOlderCopiesEvenWithinSwr) {
  Env env(withSwr(60'000));
  Req a(env, "/m");
  a.respond(200, {{"cache-control", "max-age=600"}, {"age", "100"}}, "old");
  for (const char* cc : {"max-age=1", "max-age=50", "max-age=99"}) {
    Req r(env, "/m", {{"cache-control", cc}});
    EXPECT_EQ(r.status, FilterStatus::Continue) << cc;  // to the origin, not STALE
    EXPECT_TRUE(r.cb.replies.empty()) << cc;
    EXPECT_TRUE(r.cb.fetches.empty()) << cc;
    r.f.reset();  // gives up its fill
  }
  Req ok(env, "/m", {{"cache-control", "max-age=100"}});
  EXPECT_EQ(*field(ok, "x-cache"), "HIT");

  // Stale and within the route's window, but the client's max-age (without max-stale) wants
  // nothing stale.
  Req b(env, "/s");
  b.respond(200, {{"cache-control", "max-age=1"}}, "s");
  env.now += 2'000;
  Req strict(env, "/s", {{"cache-control", "max-age=30"}});
  EXPECT_EQ(strict.status, FilterStatus::Continue);
  strict.f.reset();
  Req plain(env, "/s");
  EXPECT_EQ(*field(plain, "x-cache"), "STALE");
}

TEST(CacheDirectives, MinFreshAndMaxStale) {
  Env env;
  Req a(env, "/f");
  a.respond(200, {{"cache-control", "max-age=60"}}, "f");
  env.now += 10'000;  // 50 s of freshness left
  Req more(env, "/f", {{"cache-control", "min-fresh=51"}});
  EXPECT_EQ(more.status, FilterStatus::Continue);
  more.f.reset();
  Req enough(env, "/f", {{"cache-control", "min-fresh=50"}});
  EXPECT_EQ(*field(enough, "x-cache"), "HIT");

  // Stale by 5 s on a route without stale windows: max-stale lets the client take it.
  env.now += 55'000;
  Req bounded(env, "/f", {{"cache-control", "max-stale=10"}});
  EXPECT_EQ(*field(bounded, "x-cache"), "STALE");
  EXPECT_TRUE(bounded.cb.fetches.empty());
  Req any(env, "/f", {{"cache-control", "max-stale"}});
  EXPECT_EQ(*field(any, "x-cache"), "STALE");
  Req tight(env, "/f", {{"cache-control", "max-stale=4"}});
  EXPECT_EQ(tight.status, FilterStatus::Continue);
  tight.f.reset();
  Req both(env, "/f", {{"cache-control", "max-stale=10, min-fresh=1"}});
  EXPECT_EQ(both.status, FilterStatus::Continue);
  both.f.reset();

  // The origin's must-revalidate wins over max-stale.
  Req m(env, "/mr");
  m.respond(200, {{"cache-control", "max-age=1, must-revalidate"}}, "m");
  env.now += 3'000;
  Req no(env, "/mr", {{"cache-control", "max-stale"}});
  EXPECT_EQ(no.status, FilterStatus::Continue);
}

TEST(CacheDirectives, DateSecondsDoNotShortenLifetimes) {
  Env env;
  int64_t second = env.now / 1000;
  std::string date = httpDate(second);
  env.now = second * 1000 + 900;  // the response arrives late in the second its Date names
  Req a(env, "/d1");
  a.respond(200, {{"cache-control", "max-age=1"}, {"date", date.c_str()}}, "x");
  Req b(env, "/d2");
  b.respond(200, {{"cache-control", "max-age=2"}, {"date", date.c_str()}}, "y");
  Req at_once(env, "/d1");
  EXPECT_EQ(*field(at_once, "x-cache"), "HIT");
  EXPECT_EQ(*field(at_once, "age"), "0");
  env.now += 300;
  Req later(env, "/d1");
  EXPECT_EQ(*field(later, "x-cache"), "HIT");
  EXPECT_EQ(*field(later, "age"), "0");
  env.now += 1'200;  // 1.5 s after storing
  Req two(env, "/d2");
  EXPECT_EQ(*field(two, "x-cache"), "HIT");
  EXPECT_EQ(*field(two, "age"), "1");
  env.now += 600;  // 2.1 s
  EXPECT_EQ(Req(env, "/d2").status, FilterStatus::Continue);
}

TEST(CacheDirectives, SMaxageMeansProxyRevalidate) {
  Env env(withSwr(5'000, 60'000));
  Req a(env, "/sm");
  a.respond(200, {{"cache-control", "s-maxage=1"}}, "sm");
  env.now += 2'000;
  Req swr(env, "/sm");
  EXPECT_EQ(swr.status, FilterStatus::Continue);  // not STALE
  EXPECT_TRUE(swr.cb.fetches.empty());
  base::ResponseHead r = swr.respond(503, {}, "down");
  EXPECT_TRUE(swr.cb.replies.empty());  // the 503 passes: no stale-if-error either
  EXPECT_EQ(r.status, 503);
}

TEST(CacheDirectives, ServedWithExactlyTheStoredFields) {
  Env env;
  Req a(env, "/ct");
  a.respond(200, {{"cache-control", "max-age=60"}, {"etag", "\"n\""}}, "raw");
  Req hit(env, "/ct");
  ASSERT_EQ(hit.cb.replies.size(), 1u);
  EXPECT_FALSE(delivered(hit).has("content-type"));
  Req cond(env, "/ct", {{"if-none-match", "\"n\""}});
  ASSERT_EQ(cond.cb.replies.size(), 1u);
  EXPECT_EQ(cond.cb.replies[0].status, 304);
  EXPECT_FALSE(delivered(cond).has("content-type"));

  Req b(env, "/html");
  b.respond(200,
            {{"cache-control", "max-age=60"},
             {"etag", "\"h\""},
             {"content-type", "text/html"},
             {"content-encoding", "gzip"}},
            "zz");
  Req hit2(env, "/html");
  EXPECT_EQ(*delivered(hit2).get("content-type"), "text/html");
  // A 304 carries no representation metadata beyond what RFC 9110 §15.4.5 lists.
  Req cond2(env, "/html", {{"if-none-match", "\"h\""}});
  base::HeaderMap h = delivered(cond2);
  EXPECT_FALSE(h.has("content-type"));
  EXPECT_FALSE(h.has("content-encoding"));
  EXPECT_EQ(*h.get("etag"), "\"h\"");
}

TEST(CacheDirectives, ZeroTtlStoresOnlyExplicitFreshness) {
  config::CacheFilter cfg;
  cfg.ttl = std::chrono::milliseconds(0);
  Env env(cfg);
  Req a(env, "/h");
  a.respond(200, {{"etag", "\"h\""}}, "heuristic");
  EXPECT_EQ(Req(env, "/h").status, FilterStatus::Continue);
  Req b(env, "/e");
  b.respond(200, {{"cache-control", "max-age=60"}}, "explicit");
  EXPECT_EQ(Req(env, "/e").status, FilterStatus::Stop);
}

TEST(CacheDirectives, ConditionalMissGoesToTheOriginWithTheClientsValidators) {
  Env env;
  Req a(env, "/cm", {{"if-none-match", "\"v1\""}, {"if-modified-since", httpDate(1).c_str()}});
  ASSERT_EQ(a.status, FilterStatus::Continue);
  EXPECT_EQ(*a.head.headers.get("if-none-match"), "\"v1\"");
  EXPECT_TRUE(a.head.headers.has("if-modified-since"));
  base::ResponseHead r = a.respond(304, {{"cache-control", "max-age=60"}, {"etag", "\"v1\""}}, "");
  EXPECT_EQ(r.status, 304);  // passes to the client
  EXPECT_TRUE(a.cb.replies.empty());
  EXPECT_EQ(*r.headers.get("x-cache"), "MISS");
  // Nothing was stored; an unconditional request fills the key.
  Req b(env, "/cm");
  EXPECT_EQ(b.status, FilterStatus::Continue);
  b.respond(200, {{"cache-control", "max-age=60"}, {"etag", "\"v1\""}}, "body");
  Req c(env, "/cm", {{"if-none-match", "\"v1\""}});
  ASSERT_EQ(c.cb.replies.size(), 1u);
  EXPECT_EQ(c.cb.replies[0].status, 304);
}

TEST(CacheDirectives, RevalidatingAgeCounts) {
  Env env;
  Req a(env, "/r");
  a.respond(200, {{"cache-control", "max-age=1"}, {"etag", "\"r\""}}, "r");
  env.now += 2'000;
  Req b(env, "/r");
  ASSERT_EQ(b.status, FilterStatus::Continue);
  b.respond(304, {{"cache-control", "max-age=60"}, {"etag", "\"r\""}, {"age", "20"}}, "");
  ASSERT_EQ(b.cb.replies.size(), 1u);
  EXPECT_EQ(*field(b, "age"), "20");
  env.now += 39'000;  // age 59: fresh
  Req c(env, "/r");
  EXPECT_EQ(*field(c, "age"), "59");
  env.now += 1'000;  // age 60: stale
  EXPECT_EQ(Req(env, "/r").status, FilterStatus::Continue);
}

TEST(CacheDirectives, UnsafeMethodsInvalidateSameOriginLocations) {
  Env env;
  for (const char* t : {"/post", "/loc", "/cloc", "/q?x=1", "/other"}) {
    Req a(env, t);
    a.respond(200, {{"cache-control", "max-age=60"}}, "x");
    ASSERT_EQ(Req(env, t).status, FilterStatus::Stop) << t;
  }
  Req post(env, "/post", {}, "POST");
  post.respond(201, {{"location", "/loc#frag"}, {"content-location", "HTTP://Example.Test/cloc"}},
               "");
  Req put(env, "/other", {}, "PUT");
  put.respond(204, {{"location", "http://elsewhere.test/q?x=1"}}, "");
  EXPECT_EQ(Req(env, "/q?x=1").status, FilterStatus::Stop);  // another host's: kept
  Req del(env, "/post", {}, "DELETE");
  del.respond(200, {{"content-location", "/q?x=1"}}, "");
  for (const char* t : {"/post", "/loc", "/cloc", "/other", "/q?x=1"}) {
    EXPECT_EQ(Req(env, t).status, FilterStatus::Continue) << t;
  }
  Req failed(env, "/x", {}, "POST");
  Req stored(env, "/kept");
  stored.respond(200, {{"cache-control", "max-age=60"}}, "k");
  failed.respond(500, {{"location", "/kept"}}, "");
  EXPECT_EQ(Req(env, "/kept").status, FilterStatus::Stop);
}

}  // namespace
}  // namespace sluice::filters
