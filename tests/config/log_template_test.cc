#include "config/log_template.h"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

TEST(LogTemplate, SplitsLiteralsAndBothVariableForms) {
  std::string error;
  auto p = splitLogTemplate("$remote \"${method} $path\" $$x end", &error);
  ASSERT_EQ(p.size(), 6u) << error;
  EXPECT_EQ(p[0].literal, "");
  EXPECT_EQ(p[0].variable, "remote");
  EXPECT_EQ(p[1].literal, " \"");
  EXPECT_EQ(p[1].variable, "method");
  EXPECT_EQ(p[2].variable, "path");
  EXPECT_TRUE(p[3].has_variable);  // a bare `$` names nothing
  EXPECT_EQ(p[3].variable, "");
  EXPECT_EQ(p[4].variable, "x");
  EXPECT_EQ(p[4].literal, "");
  EXPECT_EQ(p[5].literal, " end");  // trailing text: a piece without a variable
  EXPECT_FALSE(p[5].has_variable);
  EXPECT_EQ(splitLogTemplate("a ${b", &error).size(), 0u);
  EXPECT_NE(error.find("unclosed"), std::string::npos);
}

TEST(LogTemplate, OnlyAccessLogFieldsAreVariables) {
  EXPECT_EQ(checkAccessLogTemplate("$remote $status ${trace_id} $span_id"), "");
  EXPECT_NE(checkAccessLogTemplate("$remote $nope").find("unknown variable $nope"),
            std::string::npos);
  EXPECT_NE(checkAccessLogTemplate("cost $ 5").find("unknown variable $"), std::string::npos);
  EXPECT_NE(checkAccessLogTemplate("${status").find("unclosed"), std::string::npos);
}

}  // namespace
}  // namespace sluice::config
