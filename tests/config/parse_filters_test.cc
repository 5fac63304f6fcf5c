// Tests for config/parse_filters.cc: these call the parser directly to check each filter's
// values, defaults and errors without building a whole config around it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/sections.h"

namespace sluice::config {
namespace {

struct FilterResult {
  std::optional<FilterEntry> entry;
  std::vector<std::string> errors;
  RouteRefs refs;
};

FilterResult parse(const std::string& yaml) {
  FilterResult p;
  std::vector<Diagnostic> diags;
  Reader r("f.yaml", &diags);
  p.entry = parseFilter(r, YAML::Load(yaml), &p.refs);
  for (const auto& d : diags) p.errors.push_back(d.text());
  return p;
}

TEST(ParseFilter, TokenBucketWithDefaults) {
  auto p = parse("token_bucket: {rate: 6000/m}");
  EXPECT_THAT(p.errors, ::testing::IsEmpty());
  ASSERT_TRUE(p.entry);
  EXPECT_EQ(p.entry->name, "token_bucket");
  auto& f = std::get<TokenBucketFilter>(p.entry->spec);
  EXPECT_DOUBLE_EQ(f.rate.perSecond(), 100);
  EXPECT_EQ(f.burst, 100u);  // one second's worth
  EXPECT_EQ(f.common.key, "ip");
  EXPECT_EQ(f.common.max_keys, 100000u);
  EXPECT_EQ(f.common.scope, LimitScope::Local);
  EXPECT_EQ(filterName(p.entry->spec), std::string("token_bucket"));
}

TEST(ParseFilter, RateLimitKeysAndScope) {
  auto p = parse(
      "sliding_window: {limit: 1000, window: 1m, key: \"ip+header:X-Api-Key+cookie:sid\", "
      "scope: cluster, headers: true, dry_run: true, max_keys: 5}");
  EXPECT_THAT(p.errors, ::testing::IsEmpty());
  auto& f = std::get<SlidingWindowFilter>(p.entry->spec);
  EXPECT_EQ(f.limit, 1000u);
  EXPECT_EQ(f.window, Duration{60'000});
  EXPECT_EQ(f.common.key, "ip+header:x-api-key+cookie:sid");
  EXPECT_EQ(f.common.scope, LimitScope::Cluster);
  EXPECT_TRUE(f.common.headers);
  EXPECT_TRUE(f.common.dry_run);
  EXPECT_EQ(f.common.max_keys, 5u);
  EXPECT_EQ(p.refs.clusters.size(), 1u);
}

TEST(ParseFilter, SlidingWindowPrecision) {
  auto exact = parse("sliding_window: {limit: 10}");
  EXPECT_FALSE(std::get<SlidingWindowFilter>(exact.entry->spec).approximate);
  auto approx = parse("sliding_window: {limit: 10, precision: approximate}");
  EXPECT_THAT(approx.errors, ::testing::IsEmpty());
  EXPECT_TRUE(std::get<SlidingWindowFilter>(approx.entry->spec).approximate);
  auto bad = parse("sliding_window: {limit: 10, precision: rough}");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_NE(bad.errors[0].find("write exact or approximate"), std::string::npos) << bad.errors[0];
}

TEST(ParseFilter, KeyExpressions) {
  EXPECT_EQ(*parseKeyExpression("route", {"ip", "route"}, true), "route");
  EXPECT_EQ(*parseKeyExpression("query:page+ip", {"ip", "route"}, true), "query:page+ip");
  for (const char* bad : {"", "ip+", "+ip", "user", "header:", "header:a b", "ip+ip+foo"}) {
    EXPECT_FALSE(parseKeyExpression(bad, {"ip", "route"}, true).ok()) << bad;
  }
  EXPECT_FALSE(parseKeyExpression("ip+path", {"ip", "path", "uri"}, false).ok());
}

TEST(ParseFilter, WindowsNeedALimit) {
  auto p = parse("fixed_window: {window: 1h}");
  EXPECT_THAT(p.errors, ::testing::Contains(
                            "f.yaml:1:15: fixed_window needs \"limit\"; write e.g. limit: 1000"));
}

TEST(ParseFilter, LeakyBucketBurstDefaultsToNoQueue) {
  auto p = parse("leaky_bucket: {rate: 50/s}");
  EXPECT_THAT(p.errors, ::testing::IsEmpty());
  EXPECT_EQ(std::get<LeakyBucketFilter>(p.entry->spec).burst, 0u);
}

TEST(ParseFilter, CacheAndGzip) {
  auto p = parse(
      "cache: {ttl: 30s, max_bytes: 64MiB, stale_while_revalidate: 10s, stale_if_error: 5m, "
      "negative_ttl: 0s, ttl_jitter: 10%}");
  EXPECT_THAT(p.errors, ::testing::IsEmpty());
  auto& c = std::get<CacheFilter>(p.entry->spec);
  EXPECT_EQ(c.max_bytes, 64ull << 20);
  EXPECT_EQ(c.stale_if_error, Duration{300'000});
  EXPECT_DOUBLE_EQ(c.ttl_jitter, 0.1);
  // ttl 0: no heuristic freshness (README), not an error.
  for (const char* zero : {"cache: {ttl: 0}", "cache: {ttl: 0s}"}) {
    auto z = parse(zero);
    EXPECT_THAT(z.errors, ::testing::IsEmpty()) << zero;
    if (z.entry) {
      EXPECT_EQ(std::get<CacheFilter>(z.entry->spec).ttl, Duration{0}) << zero;
    }
  }

  // Defaults follow RFC 9111: no forced lifetime, 10% of the Last-Modified age up to a day,
  // CDN-Cache-Control used and forwarded.
  auto d = parse("cache: {}");
  ASSERT_TRUE(d.entry);
  auto& dc = std::get<CacheFilter>(d.entry->spec);
  EXPECT_FALSE(dc.ttl);
  EXPECT_FALSE(dc.negative_ttl);
  EXPECT_DOUBLE_EQ(dc.heuristic_fraction, 0.1);
  EXPECT_EQ(dc.heuristic_max, Duration{86'400'000});
  EXPECT_EQ(dc.cdn_cache_control, CdnCacheControl::Use);
  auto h = parse(
      "cache: {heuristic_fraction: 20%, heuristic_max: 1h, "
      "cdn_cache_control: use_and_remove}");
  EXPECT_THAT(h.errors, ::testing::IsEmpty());
  auto& hc = std::get<CacheFilter>(h.entry->spec);
  EXPECT_DOUBLE_EQ(hc.heuristic_fraction, 0.2);
  EXPECT_EQ(hc.heuristic_max, Duration{3'600'000});
  EXPECT_EQ(hc.cdn_cache_control, CdnCacheControl::UseAndRemove);
  EXPECT_EQ(std::get<CacheFilter>(parse("cache: {cdn_cache_control: ignore}").entry->spec)
                .cdn_cache_control,
            CdnCacheControl::Ignore);
  EXPECT_THAT(parse("cache: {cdn_cache_control: strip}").errors,
              ::testing::ElementsAre(::testing::HasSubstr("use, use_and_remove or ignore")));

  auto g = parse("gzip: {min_bytes: 1KiB, level: 9, types: [Text/*], encodings: [zstd, br]}");
  EXPECT_THAT(g.errors, ::testing::IsEmpty());
  auto& z = std::get<GzipFilter>(g.entry->spec);
  EXPECT_EQ(z.min_bytes, 1024u);
  EXPECT_EQ(z.level, 9);
  EXPECT_THAT(z.types, ::testing::ElementsAre("text/*"));
  EXPECT_THAT(z.encodings, ::testing::ElementsAre("zstd", "br"));

  auto bad = parse("gzip: {encodings: [gzip, deflate, gzip], types: [json]}");
  EXPECT_THAT(bad.errors, ::testing::UnorderedElementsAre(
                              ::testing::HasSubstr("\"deflate\" is not an encoding"),
                              ::testing::HasSubstr("\"gzip\" is listed twice"),
                              ::testing::HasSubstr("\"json\" is not a media type")));
}

TEST(ParseFilter, EmptyBodyMeansDefaults) {
  auto p = parse("circuit_breaker:");
  EXPECT_THAT(p.errors, ::testing::IsEmpty());
  ASSERT_TRUE(p.entry);
  EXPECT_TRUE(std::holds_alternative<CircuitBreakerFilter>(p.entry->spec));
  auto extra = parse("circuit_breaker: {open_for: 1s}");
  EXPECT_THAT(extra.errors,  // circuit_breaker takes no keys, and the message says what to write
              ::testing::ElementsAre(::testing::HasSubstr(
                  "unknown key \"open_for\": circuit_breaker takes no options; write "
                  "circuit_breaker: {}")));
}

}  // namespace
}  // namespace sluice::config
