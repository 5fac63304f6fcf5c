#include "filters/cdn_cache_control.h"

#include <gtest/gtest.h>

namespace sluice::filters {
namespace {

TEST(CdnCacheControl, ParsesAStructuredFieldsDictionary) {
  std::optional<CacheControl> cc = parseCdnCacheControl("max-age=600, must-revalidate");
  ASSERT_TRUE(cc);
  EXPECT_EQ(cc->max_age, 600);
  EXPECT_TRUE(cc->must_revalidate);
  cc = parseCdnCacheControl("no-store");
  ASSERT_TRUE(cc);
  EXPECT_TRUE(cc->no_store);
  cc = parseCdnCacheControl("private=\"set-cookie\", no-cache, s-maxage=5;x=1, x-ext=(a b)");
  ASSERT_TRUE(cc);
  EXPECT_TRUE(cc->is_private);
  EXPECT_TRUE(cc->no_cache);
  EXPECT_EQ(cc->s_maxage, 5);         // parameters are ignored
  cc = parseCdnCacheControl("none");  // valid, and says nothing (RFC 9213 §3.1)
  ASSERT_TRUE(cc);
  EXPECT_FALSE(cc->max_age);
  EXPECT_FALSE(cc->no_store);
}

TEST(CdnCacheControl, WrongTypesAreIgnoredNotCoerced) {
  std::optional<CacheControl> cc = parseCdnCacheControl("max-age=\"600\"");
  ASSERT_TRUE(cc);  // a valid dictionary whose max-age is a String: no max-age
  EXPECT_FALSE(cc->max_age);
  cc = parseCdnCacheControl("max-age=1.5");
  ASSERT_TRUE(cc);
  EXPECT_FALSE(cc->max_age);
  cc = parseCdnCacheControl("max-age=-5");
  ASSERT_TRUE(cc);
  EXPECT_FALSE(cc->max_age);
  cc = parseCdnCacheControl("no-store=?0");
  ASSERT_TRUE(cc);
  EXPECT_FALSE(cc->no_store);
}

TEST(CdnCacheControl, InvalidOrEmptyFieldsAreIgnored) {
  for (const char* bad : {"", "   ", "Max-Age=600", "max-age = 600", "max-age=600,", "max-age=600;",
                          "max-age=abc def", "max-age=\"unterminated", ", max-age=1",
                          "max-age=1 max-age=2", "max-age=1234567890123456"}) {
    EXPECT_FALSE(parseCdnCacheControl(bad)) << bad;
  }
}

TEST(CdnCacheControl, ReplacesCacheControlAndExpiresWhenValid) {
  base::HeaderMap h;
  h.add("cache-control", "no-store");
  h.add("expires", "0");
  h.add("cdn-cache-control", "max-age=600");
  bool use_expires = true;
  CacheControl cc = responseDirectives(h, true, &use_expires);
  EXPECT_FALSE(cc.no_store);
  EXPECT_EQ(cc.max_age, 600);
  EXPECT_FALSE(use_expires);
  // Not used (cdn_cache_control: ignore): Cache-Control decides.
  cc = responseDirectives(h, false, &use_expires);
  EXPECT_TRUE(cc.no_store);
  EXPECT_TRUE(use_expires);
  // Invalid: as if absent.
  h.set("cdn-cache-control", "max-age=600,");
  cc = responseDirectives(h, true, &use_expires);
  EXPECT_TRUE(cc.no_store);
  EXPECT_TRUE(use_expires);
  // Several fields are one dictionary; a later key wins (RFC 8941 §3.2).
  base::HeaderMap two;
  two.add("cdn-cache-control", "max-age=10");
  two.add("cdn-cache-control", "max-age=20, no-cache");
  cc = responseDirectives(two, true, &use_expires);
  EXPECT_EQ(cc.max_age, 20);
  EXPECT_TRUE(cc.no_cache);
}

}  // namespace
}  // namespace sluice::filters
