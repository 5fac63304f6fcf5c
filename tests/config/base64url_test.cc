#include "config/base64url.h"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

TEST(Base64Url, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    auto back = decodeBase64Url(encodeBase64Url(bytes));
    ASSERT_TRUE(back) << i;
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<char>(i * 37 + 250));
  }
}

TEST(Base64Url, KnownValuesUseTheUrlAlphabetWithoutPadding) {
  EXPECT_EQ(encodeBase64Url("\xfb\xff"), "-_8");
  EXPECT_EQ(*decodeBase64Url("eyJhbGciOiJIUzI1NiJ9"), "{\"alg\":\"HS256\"}");
}

TEST(Base64Url, RefusesWhatJoseForbids) {
  EXPECT_FALSE(decodeBase64Url("ab+c"));  // standard alphabet
  EXPECT_FALSE(decodeBase64Url("ab/c"));
  EXPECT_FALSE(decodeBase64Url("YQ=="));   // padding
  EXPECT_FALSE(decodeBase64Url("abcde"));  // 4n+1 characters
  EXPECT_FALSE(decodeBase64Url("YR"));     // unused bits set ("YQ" is 'a')
  EXPECT_TRUE(decodeBase64Url("YQ"));
  EXPECT_TRUE(decodeBase64Url(""));
}

}  // namespace
}  // namespace sluice::config
