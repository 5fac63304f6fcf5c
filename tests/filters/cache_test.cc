#include "filters/cache.h"

#include <gtest/gtest.h>

#include "tests/filters/cache_fixture.h"

namespace sluice::filters {
namespace {

using testing::Env;
using testing::Req;

TEST(CacheFilter, MissThenHitThenRevalidate) {
  Env env;
  Req a(env, "/x");
  EXPECT_EQ(a.status, FilterStatus::Continue);
  base::ResponseHead r =
      a.respond(200, {{"cache-control", "max-age=10"}, {"etag", "\"v1\""}}, "hello");
  EXPECT_EQ(*r.headers.get("x-cache"), "MISS");
  EXPECT_EQ(env.miss.value(), 1u);
  EXPECT_GT(env.bytes.value(), 0);

  env.now += 4'000;
  Req b(env, "/x");
  ASSERT_EQ(b.status, FilterStatus::Stop);
  ASSERT_EQ(b.cb.replies.size(), 1u);
  EXPECT_EQ(b.cb.replies[0].body, "hello");
  EXPECT_EQ(*b.cb.replies[0].headers.get("age"), "4");
  EXPECT_EQ(*b.cb.replies[0].headers.get("x-cache"), "HIT");
  EXPECT_EQ(b.cb.cache_field, "hit");

  // A conditional request answered from the cache.
  Req c(env, "/x", {{"if-none-match", "W/\"v1\""}});
  ASSERT_EQ(c.cb.replies.size(), 1u);
  EXPECT_EQ(c.cb.replies[0].status, 304);

  // Stale: it goes to the origin with our validator; a 304 refreshes and serves the body.
  env.now += 10'000;
  Req d(env, "/x", {{"if-none-match", "\"other\""}});
  ASSERT_EQ(d.status, FilterStatus::Continue);
  EXPECT_EQ(*d.head.headers.get("if-none-match"), "\"v1\"");
  d.respond(304, {{"cache-control", "max-age=20"}, {"etag", "\"v1\""}}, "");
  ASSERT_EQ(d.cb.replies.size(), 1u);
  EXPECT_EQ(d.cb.replies[0].status, 200);
  EXPECT_EQ(d.cb.replies[0].body, "hello");
  env.now += 15'000;  // fresh for 20 s from the refresh
  Req e(env, "/x");
  EXPECT_EQ(e.status, FilterStatus::Stop);
}

TEST(CacheFilter, WhatIsNotStored) {
  Env env;
  struct Case {
    std::vector<std::pair<const char*, const char*>> req, resp;
    int status;
  };
  std::vector<Case> cases = {
      {{}, {{"cache-control", "no-store"}}, 200},
      {{}, {{"cache-control", "private, max-age=60"}}, 200},
      {{}, {{"set-cookie", "a=b"}, {"cache-control", "max-age=60"}}, 200},
      {{}, {{"vary", "*"}, {"cache-control", "max-age=60"}}, 200},
      {{{"authorization", "Basic eA=="}}, {{"cache-control", "max-age=60"}}, 200},
      {{}, {}, 302},  // not heuristically cacheable
      {{}, {}, 404},  // negative_ttl is 0
      {{{"cache-control", "no-store"}}, {{"cache-control", "max-age=60"}}, 200},
  };
  int i = 0;
  for (auto& c : cases) {
    std::string target = "/n" + std::to_string(i++);
    Req a(env, target.c_str(), c.req);
    a.respond(c.status, c.resp, "body");
    Req b(env, target.c_str());
    EXPECT_EQ(b.status, FilterStatus::Continue) << target;
    b.respond(200, {}, "");
  }
  // Authorization with public may be stored.
  Req a(env, "/auth", {{"authorization", "Basic eA=="}});
  a.respond(200, {{"cache-control", "public, max-age=60"}}, "ok");
  Req b(env, "/auth");
  EXPECT_EQ(b.status, FilterStatus::Stop);
}

TEST(CacheFilter, TtlNegativeTtlAndJitter) {
  config::CacheFilter cfg;
  cfg.ttl = std::chrono::milliseconds(10'000);
  cfg.negative_ttl = std::chrono::milliseconds(2'000);
  cfg.ttl_jitter = 0.5;
  Env env(cfg);
  Req a(env, "/missing");
  a.respond(404, {}, "nope");
  env.now += 900;  // lifetime with 50% jitter: in (1 s, 2 s]
  EXPECT_EQ(Req(env, "/missing").status, FilterStatus::Stop);  // penetration stopped
  env.now += 1'200;
  Req stale404(env, "/missing");
  EXPECT_EQ(stale404.status, FilterStatus::Continue);
  stale404.respond(404, {}, "nope");
  // ttl with 50% jitter: every lifetime lies in (5 s, 10 s].
  for (int k = 0; k < 50; ++k) {
    std::string t = "/j" + std::to_string(k);
    Req r(env, t.c_str());
    r.respond(200, {}, "x");
  }
  env.now += 5'000;  // all still fresh
  for (int k = 0; k < 50; ++k) {
    std::string t = "/j" + std::to_string(k);
    EXPECT_EQ(Req(env, t.c_str()).status, FilterStatus::Stop) << t;
  }
  env.now += 5'001;  // all expired
  int expired = 0;
  for (int k = 0; k < 50; ++k) {
    std::string t = "/j" + std::to_string(k);
    Req r(env, t.c_str());
    expired += r.status == FilterStatus::Continue;
  }
  EXPECT_EQ(expired, 50);
}

BackgroundResponse backgroundResponse(int status,
                                      std::vector<std::pair<const char*, const char*>> h,
                                      std::string body) {
  BackgroundResponse r;
  r.status = status;
  for (auto& [k, v] : h) r.headers.add(k, v);
  r.body = std::move(body);
  return r;
}

const std::string& served(Req& r, const char* xcache) {
  EXPECT_EQ(r.status, FilterStatus::Stop);
  EXPECT_EQ(r.cb.replies.size(), 1u);
  static const std::string none;
  if (r.cb.replies.size() != 1) return none;
  EXPECT_EQ(*r.cb.replies[0].headers.get("x-cache"), xcache);
  return r.cb.replies[0].body;
}

TEST(CacheFilter, StaleWhileRevalidateRefreshesInTheBackground) {
  config::CacheFilter cfg;
  cfg.stale_while_revalidate = std::chrono::milliseconds(5'000);
  cfg.stale_if_error = std::chrono::milliseconds(60'000);
  Env env(cfg);
  Req a(env, "/s");
  a.respond(200, {{"cache-control", "max-age=1"}, {"etag", "\"v1\""}}, "v1");
  env.now += 2'000;
  // Every request gets the stale copy at once; the first one starts the one refresh.
  Req first(env, "/s", {{"if-none-match", "\"client\""}}, "HEAD");
  EXPECT_EQ(served(first, "STALE"), "v1");  // (the exchange drops the body of a HEAD)
  ASSERT_EQ(first.cb.fetches.size(), 1u);
  const base::RequestHead& sent = first.cb.fetches[0].head;
  EXPECT_EQ(sent.method, "GET");
  EXPECT_EQ(*sent.headers.get("if-none-match"), "\"v1\"");
  EXPECT_EQ(first.cb.fetches[0].max_body, env.store->largestEntry());
  Req second(env, "/s");
  EXPECT_EQ(served(second, "STALE"), "v1");
  EXPECT_TRUE(second.cb.fetches.empty());  // one refresh per key
  // It fails (after the request that started it is gone): the stale copy stays.
  BackgroundDone done = std::move(first.cb.fetches[0].done);
  first.f.reset();
  done(std::nullopt);
  Req third(env, "/s");
  EXPECT_EQ(served(third, "STALE"), "v1");
  ASSERT_EQ(third.cb.fetches.size(), 1u);
  // A 304 makes the stored copy fresh again.
  third.cb.fetches[0].done(
      backgroundResponse(304, {{"cache-control", "max-age=10"}, {"etag", "\"v1\""}}, ""));
  Req fourth(env, "/s");
  EXPECT_EQ(served(fourth, "HIT"), "v1");
  // Stale again: a 200 replaces it.
  env.now += 12'000;
  Req fifth(env, "/s");
  EXPECT_EQ(served(fifth, "STALE"), "v1");
  ASSERT_EQ(fifth.cb.fetches.size(), 1u);
  fifth.cb.fetches[0].done(backgroundResponse(200, {{"cache-control", "max-age=10"}}, "v2"));
  Req sixth(env, "/s");
  EXPECT_EQ(served(sixth, "HIT"), "v2");
  EXPECT_EQ(env.stale.value(), 4u);
  // Beyond swr but within stale_if_error: a 502 becomes the stale copy.
  env.now += 30'000;
  Req late(env, "/s");
  EXPECT_EQ(late.status, FilterStatus::Continue);
  EXPECT_TRUE(late.cb.fetches.empty());
  late.respond(502, {}, "");
  ASSERT_EQ(late.cb.replies.size(), 1u);
  EXPECT_EQ(late.cb.replies[0].body, "v2");
}

TEST(CacheFilter, BackgroundRefreshDropsWhatItCannotReplace) {
  config::CacheFilter cfg;
  cfg.stale_while_revalidate = std::chrono::milliseconds(5'000);
  Env env(cfg);
  // Stored as a filter after the cache made it (gzip): a background 200 comes untransformed.
  Req a(env, "/g", {{"accept-encoding", "gzip"}});
  a.respond(
      200,
      {{"cache-control", "max-age=1"}, {"vary", "Accept-Encoding"}, {"content-encoding", "gzip"}},
      "zz");
  env.now += 2'000;
  Req b(env, "/g", {{"accept-encoding", "gzip"}});
  EXPECT_EQ(served(b, "STALE"), "zz");
  ASSERT_EQ(b.cb.fetches.size(), 1u);
  b.cb.fetches[0].done(backgroundResponse(200, {{"cache-control", "max-age=10"}}, "plain"));
  Req c(env, "/g", {{"accept-encoding", "gzip"}});
  EXPECT_EQ(c.status, FilterStatus::Continue);  // gone: filled through the chain again
  c.respond(200, {{"cache-control", "max-age=1"}}, "x");
  // A response that may not be stored any more removes the stale copy too.
  env.now += 2'000;
  Req d(env, "/g", {{"accept-encoding", "gzip"}});
  EXPECT_EQ(served(d, "STALE"), "x");
  ASSERT_EQ(d.cb.fetches.size(), 1u);
  d.cb.fetches[0].done(backgroundResponse(200, {{"cache-control", "no-store"}}, "y"));
  EXPECT_EQ(Req(env, "/g").status, FilterStatus::Continue);
}

TEST(CacheFilter, ConcurrentMissesWaitForOneFill) {
  Env env;
  Req a(env, "/cold");
  EXPECT_EQ(a.status, FilterStatus::Continue);
  Req b(env, "/cold");  // a fill is running: b waits (with a timeout)
  EXPECT_EQ(b.status, FilterStatus::Stop);
  ASSERT_EQ(b.cb.delays.size(), 1u);
  EXPECT_EQ(b.cb.delays[0], CacheFactory::kFillWait);
  a.respond(200, {{"cache-control", "max-age=60"}}, "x");
  EXPECT_EQ(Req(env, "/cold").status, FilterStatus::Stop);
}

TEST(CacheFilter, VaryKeepsVariantsApart) {
  Env env;
  Req gz(env, "/v", {{"accept-encoding", "gzip"}});
  gz.respond(
      200,
      {{"cache-control", "max-age=60"}, {"vary", "Accept-Encoding"}, {"content-encoding", "gzip"}},
      "GZ");
  Req plain(env, "/v");
  EXPECT_EQ(plain.status, FilterStatus::Continue);
  plain.respond(200, {{"cache-control", "max-age=60"}, {"vary", "Accept-Encoding"}}, "PLAIN");
  Req gz2(env, "/v", {{"accept-encoding", "gzip;q=1.0 "}});
  ASSERT_EQ(gz2.cb.replies.size(), 1u);
  EXPECT_EQ(gz2.cb.replies[0].body, "GZ");
  Req plain2(env, "/v");
  ASSERT_EQ(plain2.cb.replies.size(), 1u);
  EXPECT_EQ(plain2.cb.replies[0].body, "PLAIN");
}

TEST(CacheStore, ByteBoundLruAndPurge) {
  base::Gauge g;
  CacheStore store(64 * 1024, &g);
  base::HeaderMap none;
  for (int i = 0; i < 1000; ++i) {
    auto e = std::make_shared<CachedResponse>();
    e->body = std::make_shared<const std::string>(100, 'x');
    store.insert("h/k" + std::to_string(i), e);
    EXPECT_LE(store.bytes(), 64u * 1024);
  }
  EXPECT_EQ(static_cast<uint64_t>(g.value()), store.bytes());
  EXPECT_TRUE(store.lookup("h/k999", none));
  EXPECT_FALSE(store.lookup("h/k0", none));
  EXPECT_EQ(store.purge("h/k999", false), 1u);
  EXPECT_FALSE(store.lookup("h/k999", none));
  EXPECT_GT(store.purge("h/k9", true), 0u);
  EXPECT_FALSE(store.lookup("h/k998", none));
  auto big = std::make_shared<CachedResponse>();
  big->body = std::make_shared<const std::string>(64 * 1024, 'x');
  EXPECT_FALSE(store.insert("h/big", big));
  EXPECT_EQ(store.purge("h/", true) > 0, true);
  EXPECT_EQ(store.bytes(), 0u);
  EXPECT_EQ(g.value(), 0);
}

}  // namespace
}  // namespace sluice::filters
