#include "filters/redirect.h"

#include <gtest/gtest.h>

#include "tests/filters/fake_callbacks.h"

namespace sluice::filters {
namespace {

using testing::FakeCallbacks;

config::Redirect schemeHost(std::optional<std::string> scheme, std::optional<std::string> host,
                            int status = 302) {
  config::Redirect d;
  d.scheme = std::move(scheme);
  d.host = std::move(host);
  d.status = status;
  return d;
}

config::Redirect to(std::string text, int status = 302) {
  config::Redirect d;
  d.to = std::move(text);
  d.status = status;
  return d;
}

struct Redirected {
  FakeCallbacks cb;
  base::RequestHead head;
  FilterStatus status = FilterStatus::Continue;
  explicit Redirected(const config::Redirect& d, std::string_view host = "www.example.com:8080",
                      std::string_view target = "/a/b?x=1", bool secure = false) {
    cb.info_.original_host = host;
    cb.info_.original_target = target;
    cb.info_.secure = secure;
    cb.info_.client_ip = "192.0.2.7";
    head.method = "GET";
    head.target = std::string(target);
    RedirectFactory f(d, {});
    status = f.create()->onRequestHeaders(head, cb);
  }
  const FakeCallbacks::Reply& reply() const { return cb.replies.at(0); }
  std::string location() const {
    const std::string* l = reply().headers.get("location");
    return l != nullptr ? *l : std::string("(none)");
  }
};

TEST(Redirect, SchemeKeepsHostPortPathAndQuery) {
  Redirected r(schemeHost("https", std::nullopt, 308));
  EXPECT_EQ(r.status, FilterStatus::Stop);
  ASSERT_EQ(r.cb.replies.size(), 1u);
  EXPECT_EQ(r.reply().status, 308);
  EXPECT_EQ(r.location(), "https://www.example.com:8080/a/b?x=1");
  EXPECT_EQ(r.reply().body, "308 Permanent Redirect\n");
}

TEST(Redirect, HostKeepsTheRequestScheme) {
  EXPECT_EQ(Redirected(schemeHost(std::nullopt, "new.example")).location(),
            "http://new.example/a/b?x=1");
  Redirected tls(schemeHost(std::nullopt, "new.example"), "old.example", "/p", true);
  EXPECT_EQ(tls.location(), "https://new.example/p");
  EXPECT_EQ(tls.reply().status, 302);
}

TEST(Redirect, AsteriskTargetGoesToTheRoot) {
  EXPECT_EQ(Redirected(schemeHost("https", std::nullopt), "a.example", "*").location(),
            "https://a.example/");
}

TEST(Redirect, NoHostToKeepIsABadRequest) {
  Redirected r(schemeHost("https", std::nullopt), "");
  ASSERT_EQ(r.cb.replies.size(), 1u);
  EXPECT_EQ(r.reply().status, 400);
  EXPECT_EQ(r.reply().headers.get("location"), nullptr);
}

TEST(Redirect, ToExpandsVariables) {
  Redirected r(to("https://docs.example.com${path}?q=${query}&ip=${client_ip}", 301));
  EXPECT_EQ(r.reply().status, 301);
  EXPECT_EQ(r.location(), "https://docs.example.com/a/b?q=x=1&ip=192.0.2.7");
  EXPECT_EQ(Redirected(to("/fixed")).location(), "/fixed");
}

TEST(Redirect, ToThatExpandsToNothingIsABadRequest) {
  Redirected r(to("${header.x-next}"));
  EXPECT_EQ(r.reply().status, 400);
}

}  // namespace
}  // namespace sluice::filters
