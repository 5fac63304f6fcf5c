#include "config/regex.h"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

TEST(Regex, CompilesAndMatchesTheWholeString) {
  std::string error;
  auto re = compileRegex("/users/[0-9]+", &error);
  ASSERT_TRUE(re) << error;
  EXPECT_TRUE(fullMatch(*re, "/users/42"));
  EXPECT_FALSE(fullMatch(*re, "/users/42/x"));
  EXPECT_FALSE(fullMatch(*re, "x/users/42"));
}

TEST(Regex, ReportsASyntaxError) {
  std::string error;
  EXPECT_FALSE(compileRegex("/users/(", &error));
  EXPECT_NE(error.find("missing )"), std::string::npos) << error;
}

TEST(Regex, RewritesWithCaptureGroups) {
  std::string error;
  auto re = compileRegex("/old/(.*)", &error);
  ASSERT_TRUE(re);
  EXPECT_EQ(rewriteFull(*re, "/old/a/b", "/new/\\1").value_or("?"), "/new/a/b");
  EXPECT_FALSE(rewriteFull(*re, "/other", "/new/\\1"));
  EXPECT_EQ(checkRewrite(*re, "/new/\\1"), "");
  EXPECT_NE(checkRewrite(*re, "/new/\\2"), "");
}

}  // namespace
}  // namespace sluice::config
