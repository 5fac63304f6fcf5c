#include "filters/api_key.h"

#include <gtest/gtest.h>

#include "tests/filters/auth_callbacks.h"

namespace sluice::filters {
namespace {
using testing::AuthCallbacks;

// sha256("key-123")
const char* kKey123 = "65803be0872fa538d3ac513edadd6699f54dd8b4a566ee1cf6b185c8cc803949";

config::ApiKeyFilter makeConfig(bool query) {
  config::ApiKeyFilter cfg;
  cfg.from_query = query;
  cfg.name = query ? "api_key" : "x-api-key";
  cfg.keys = {{"acme", "0000000000000000000000000000000000000000000000000000000000000000"},
              {"beta", kKey123}};
  return cfg;
}

class ApiKeyTest : public ::testing::Test {
 protected:
  int run(bool query, std::string target, std::string header, AuthCallbacks& cb) {
    ApiKeyFactory f(makeConfig(query), AuthCounters::make(registry_, "r", "api_key"));
    base::RequestHead head;
    head.target = std::move(target);
    if (!header.empty()) head.headers.add("x-api-key", std::move(header));
    if (f.create()->onRequestHeaders(head, cb) == FilterStatus::Continue) return 0;
    return cb.replies.empty() ? -1 : cb.replies[0].status;
  }
  base::MetricsRegistry registry_;
};

TEST_F(ApiKeyTest, TheHashOfTheKeyNamesTheConsumer) {
  ApiKeyFactory f(makeConfig(false), AuthCounters::make(registry_, "r", "api_key"));
  // The stored hash above must be sha256("key-123"), else this test proves nothing.
  const std::string* c = f.consumerOf("key-123");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(*c, "beta");
  EXPECT_EQ(f.consumerOf("key-124"), nullptr);
  EXPECT_EQ(f.consumerOf(""), nullptr);
}

TEST_F(ApiKeyTest, FromAHeader) {
  AuthCallbacks ok;
  EXPECT_EQ(run(false, "/x", "key-123", ok), 0);
  EXPECT_EQ(ok.consumer, "beta");
  EXPECT_EQ(ok.redacted, "");
  AuthCallbacks wrong;
  EXPECT_EQ(run(false, "/x", "key-1234", wrong), 401);
  EXPECT_EQ(*wrong.replies[0].headers.get("www-authenticate"), "ApiKey header=\"x-api-key\"");
  EXPECT_EQ(wrong.consumer, "");
  AuthCallbacks missing;
  EXPECT_EQ(run(false, "/x", "", missing), 401);
  ASSERT_NE(missing.replies[0].headers.get("www-authenticate"), nullptr);
}

TEST_F(ApiKeyTest, FromTheQueryWhichIsMaskedInTheLog) {
  AuthCallbacks ok;
  EXPECT_EQ(run(true, "/x?a=1&api_key=key%2D123", "", ok), 0);
  EXPECT_EQ(ok.consumer, "beta");
  EXPECT_EQ(ok.redacted, "api_key");
  AuthCallbacks wrong;
  EXPECT_EQ(run(true, "/x?api_key=nope", "", wrong), 401);
  EXPECT_EQ(*wrong.replies[0].headers.get("www-authenticate"), "ApiKey query=\"api_key\"");
  AuthCallbacks missing;
  EXPECT_EQ(run(true, "/x?other=key-123", "key-123", missing), 401);  // the header is not read
  std::string text = registry_.render();
  EXPECT_NE(text.find("filter=\"api_key\",result=\"allowed\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("filter=\"api_key\",result=\"denied\"} 2"), std::string::npos) << text;
}

TEST(MaskQueryParameter, MasksOnlyThatParameter) {
  EXPECT_EQ(maskQueryParameter("/x?a=1&api_key=s3cr3t&b=2", "api_key"), "/x?a=1&api_key=***&b=2");
  EXPECT_EQ(maskQueryParameter("/x?api_key=a&api_key=b", "api_key"), "/x?api_key=***&api_key=***");
  EXPECT_EQ(maskQueryParameter("/x?xapi_key=a", "api_key"), "/x?xapi_key=a");
  EXPECT_EQ(maskQueryParameter("/x", "api_key"), "/x");
}

}  // namespace
}  // namespace sluice::filters
