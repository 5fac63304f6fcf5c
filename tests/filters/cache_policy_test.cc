#include "filters/cache_policy.h"

#include <gtest/gtest.h>

namespace sluice::filters {
namespace {

RequestDirectives directives(std::vector<std::pair<const char*, const char*>> fields) {
  base::HeaderMap h;
  for (auto& [k, v] : fields) h.add(k, v);
  return parseRequestDirectives(h);
}

CachedResponse stored(int64_t lifetime_ms, int64_t sie_ms, bool must_revalidate = false) {
  CachedResponse e;
  e.lifetime_ms = lifetime_ms;
  e.sie_ms = sie_ms;
  e.must_revalidate = must_revalidate;
  return e;  // stored at 0 with age 0
}

TEST(CachePolicy, RequestDirectives) {
  EXPECT_TRUE(directives({{"pragma", "no-cache"}}).no_cache);
  EXPECT_FALSE(directives({{"pragma", "no-cache"}, {"cache-control", "max-stale"}}).no_cache);
  EXPECT_TRUE(directives({{"cache-control", "max-age=0"}}).no_cache);
  RequestDirectives d = directives({{"cache-control", "stale-if-error=30, min-fresh=2"}});
  EXPECT_EQ(d.stale_if_error_ms, 30'000);
  EXPECT_EQ(d.min_fresh_ms, 2'000);
  EXPECT_EQ(d.max_age_ms, -1);
}

TEST(CachePolicy, StaleIfErrorWindows) {
  RequestDirectives none;
  EXPECT_TRUE(staleIfErrorOk(none, stored(1'000, 60'000), 30'000));   // the response's window
  EXPECT_FALSE(staleIfErrorOk(none, stored(1'000, 60'000), 61'000));  // past it
  EXPECT_FALSE(staleIfErrorOk(none, stored(1'000, 0), 2'000));        // nobody allowed it
  RequestDirectives sie = directives({{"cache-control", "stale-if-error=10"}});
  EXPECT_TRUE(staleIfErrorOk(sie, stored(1'000, 0), 11'000));  // the request's window
  EXPECT_FALSE(staleIfErrorOk(sie, stored(1'000, 0), 11'001));
  EXPECT_FALSE(staleIfErrorOk(sie, stored(1'000, 60'000, true), 2'000));  // must-revalidate
  RequestDirectives bounded = directives({{"cache-control", "stale-if-error=60, max-stale=5"}});
  EXPECT_FALSE(staleIfErrorOk(bounded, stored(1'000, 0), 10'000));  // max-stale still bounds
}

TEST(CachePolicy, SameOriginKeys) {
  EXPECT_EQ(sameOriginKey("a.test", "/x?y"), "a.test/x?y");
  EXPECT_EQ(sameOriginKey("a.test", "https://A.test/z#f"), "a.test/z");
  EXPECT_EQ(sameOriginKey("a.test", "http://b.test/z"), "");
  EXPECT_EQ(sameOriginKey("a.test", "//a.test/z"), "");
}

}  // namespace
}  // namespace sluice::filters
