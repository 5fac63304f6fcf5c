// Tests for filters/ext_auth.cc: the check request it sends, and what each answer does (a 2xx
// with copy_headers, a relayed 401, no answer with on_error deny/allow).
#include "filters/ext_auth.h"

#include <gtest/gtest.h>

#include "tests/filters/auth_callbacks.h"

namespace sluice::filters {
namespace {
using testing::AuthCallbacks;

class ExtAuthTest : public ::testing::Test {
 protected:
  ExtAuthTest() {
    cfg_.upstream = "authz";
    cfg_.path = "/check";
    cfg_.timeout = std::chrono::milliseconds(250);
    cfg_.send_headers = {"authorization"};
    cfg_.copy_headers = {"x-user-id"};
  }
  // Runs the filter on a request and answers its check with `answer`; the filter's decision is
  // then in cb (continued, replies) and head_.
  void run(std::optional<BackgroundResponse> answer) {
    factory_ = std::make_unique<ExtAuthFactory>(cfg_, AuthCounters::make(registry_, "r", "e"));
    filter_ = factory_->create();
    head_.method = "POST";
    head_.target = "/doc?x=1";
    head_.headers.add("authorization", "Bearer t");
    head_.headers.add("x-user-id", "mallory");
    head_.headers.add("x-other", "1");
    cb_.info_.original_target = "/doc?x=1";
    cb_.info_.client_ip = "192.0.2.1";
    ASSERT_EQ(filter_->onRequestHeaders(head_, cb_), FilterStatus::Stop);
    ASSERT_EQ(cb_.fetches.size(), 1u);
    cb_.fetches[0].done(std::move(answer));
    ASSERT_TRUE(cb_.runWoken());
  }
  config::ExtAuthFilter cfg_;
  base::MetricsRegistry registry_;
  std::unique_ptr<ExtAuthFactory> factory_;
  std::unique_ptr<Filter> filter_;
  base::RequestHead head_;
  AuthCallbacks cb_;
};

TEST_F(ExtAuthTest, TheCheckCarriesTheConfiguredHeadersAndTheOriginalRequest) {
  BackgroundResponse ok;
  ok.status = 204;
  ok.headers.add("x-user-id", "alice");
  ok.headers.add("x-other", "from-authz");
  run(ok);
  const auto& f = cb_.fetches[0];
  EXPECT_EQ(f.upstream, "authz");
  EXPECT_EQ(f.timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(f.head.method, "GET");
  EXPECT_EQ(f.head.target, "/check");
  EXPECT_EQ(*f.head.headers.get("authorization"), "Bearer t");
  EXPECT_FALSE(f.head.headers.get("x-other"));
  EXPECT_FALSE(f.head.headers.get("x-user-id"));  // the client's copy was removed first
  EXPECT_EQ(*f.head.headers.get("x-original-uri"), "/doc?x=1");
  EXPECT_EQ(*f.head.headers.get("x-original-method"), "POST");
  EXPECT_EQ(*f.head.headers.get("x-forwarded-for"), "192.0.2.1");
  EXPECT_EQ(cb_.continued, 1);
  EXPECT_EQ(head_.headers.count("x-user-id"), 1u);
  EXPECT_EQ(*head_.headers.get("x-user-id"), "alice");
  EXPECT_EQ(*head_.headers.get("x-other"), "1");  // not in copy_headers
}

TEST_F(ExtAuthTest, OtherAnswersAreRelayed) {
  BackgroundResponse no;
  no.status = 401;
  no.headers.add("www-authenticate", "Bearer realm=\"a\"");
  no.headers.add("via", "1.1 sluice");
  no.body = "nope";
  run(no);
  EXPECT_EQ(cb_.continued, 0);
  ASSERT_EQ(cb_.replies.size(), 1u);
  EXPECT_EQ(cb_.replies[0].status, 401);
  EXPECT_EQ(cb_.replies[0].body, "nope");
  EXPECT_EQ(*cb_.replies[0].headers.get("www-authenticate"), "Bearer realm=\"a\"");
  EXPECT_FALSE(cb_.replies[0].headers.get("via"));
}

TEST_F(ExtAuthTest, NoAnswerDeniesWith503) {
  run(std::nullopt);
  EXPECT_EQ(cb_.continued, 0);
  ASSERT_EQ(cb_.replies.size(), 1u);
  EXPECT_EQ(cb_.replies[0].status, 503);
  EXPECT_NE(registry_.render().find("result=\"error\"} 1"), std::string::npos);
}

TEST_F(ExtAuthTest, NoAnswerPassesWithOnErrorAllow) {
  cfg_.allow_on_error = true;
  run(std::nullopt);
  EXPECT_EQ(cb_.continued, 1);
  EXPECT_TRUE(cb_.replies.empty());
  EXPECT_FALSE(head_.headers.get("x-user-id"));
}

}  // namespace
}  // namespace sluice::filters
