#include "filters/cors.h"

#include <gtest/gtest.h>

#include "tests/filters/fake_callbacks.h"

namespace sluice::filters {
namespace {
using testing::FakeCallbacks;

config::CorsFilter makeConfig(bool credentials = true) {
  config::CorsFilter cfg;
  cfg.origins = {"https://app.example.com", "*.example.org"};
  cfg.methods = {"GET", "PUT"};
  cfg.headers = {"authorization", "content-type"};
  cfg.expose_headers = {"x-request-id"};
  cfg.credentials = credentials;
  cfg.max_age = config::Duration(600'000);
  return cfg;
}

base::RequestHead request(std::string method, std::string origin, std::string acrm = "") {
  base::RequestHead head;
  head.method = std::move(method);
  head.target = "/x";
  if (!origin.empty()) head.headers.add("origin", std::move(origin));
  if (!acrm.empty()) head.headers.add("access-control-request-method", std::move(acrm));
  return head;
}

std::string field(const base::HeaderMap& h, std::string_view name) {
  const std::string* v = h.get(name);
  return v ? *v : "<none>";
}

TEST(Cors, OriginMatching) {
  CorsFactory f(makeConfig());
  EXPECT_TRUE(f.originAllowed("https://app.example.com"));
  EXPECT_TRUE(f.originAllowed("https://APP.example.com"));
  EXPECT_FALSE(f.originAllowed("https://app.example.com.evil.net"));
  EXPECT_FALSE(f.originAllowed("http://app.example.com:8080"));
  EXPECT_TRUE(f.originAllowed("https://a.example.org"));
  EXPECT_TRUE(f.originAllowed("http://a.b.example.org:8443"));
  EXPECT_FALSE(f.originAllowed("https://example.org"));  // *.domain: subdomains only
  EXPECT_FALSE(f.originAllowed("https://badexample.org"));
  EXPECT_FALSE(f.originAllowed("null"));
}

TEST(Cors, PreflightIsAnsweredHere) {
  CorsFactory f(makeConfig());
  FakeCallbacks cb;
  auto head = request("OPTIONS", "https://a.example.org", "PUT");
  EXPECT_EQ(f.create()->onRequestHeaders(head, cb), FilterStatus::Stop);
  ASSERT_EQ(cb.replies.size(), 1u);
  const auto& r = cb.replies[0];
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(field(r.headers, "access-control-allow-origin"), "https://a.example.org");
  EXPECT_EQ(field(r.headers, "access-control-allow-methods"), "GET, PUT");
  EXPECT_EQ(field(r.headers, "access-control-allow-headers"), "authorization, content-type");
  EXPECT_EQ(field(r.headers, "access-control-max-age"), "600");
  EXPECT_EQ(field(r.headers, "access-control-allow-credentials"), "true");
  EXPECT_EQ(field(r.headers, "vary"), "Origin");
}

TEST(Cors, PreflightFromADisallowedOriginOrForAnUnlistedMethodGetsNoCorsFields) {
  CorsFactory f(makeConfig());
  for (auto head : {request("OPTIONS", "https://evil.example.net", "PUT"),
                    request("OPTIONS", "https://app.example.com", "DELETE")}) {
    FakeCallbacks cb;
    EXPECT_EQ(f.create()->onRequestHeaders(head, cb), FilterStatus::Stop);
    ASSERT_EQ(cb.replies.size(), 1u);
    EXPECT_EQ(cb.replies[0].status, 204);
    EXPECT_FALSE(cb.replies[0].headers.has("access-control-allow-origin"));
    EXPECT_FALSE(cb.replies[0].headers.has("access-control-allow-methods"));
    EXPECT_EQ(field(cb.replies[0].headers, "vary"), "Origin");
  }
}

TEST(Cors, PlainOptionsIsNotAPreflight) {
  CorsFactory f(makeConfig());
  FakeCallbacks cb;
  auto head = request("OPTIONS", "https://app.example.com");  // no Access-Control-Request-Method
  EXPECT_EQ(f.create()->onRequestHeaders(head, cb), FilterStatus::Continue);
  EXPECT_TRUE(cb.replies.empty());
}

TEST(Cors, ActualRequestFromAnAllowedOriginGetsTheOriginEchoed) {
  CorsFactory f(makeConfig());
  FakeCallbacks cb;
  auto filter = f.create();
  auto head = request("GET", "https://app.example.com");
  EXPECT_EQ(filter->onRequestHeaders(head, cb), FilterStatus::Continue);
  base::ResponseHead resp;
  resp.status = 200;
  resp.headers.add("vary", "Accept-Encoding");
  resp.headers.add("access-control-allow-origin", "*");  // the upstream's: replaced
  EXPECT_EQ(filter->onResponseHeaders(resp, cb), FilterStatus::Continue);
  EXPECT_EQ(resp.headers.count("access-control-allow-origin"), 1u);
  EXPECT_EQ(field(resp.headers, "access-control-allow-origin"), "https://app.example.com");
  EXPECT_EQ(field(resp.headers, "access-control-allow-credentials"), "true");
  EXPECT_EQ(field(resp.headers, "access-control-expose-headers"), "x-request-id");
  EXPECT_EQ(resp.headers.count("vary"), 2u);  // Accept-Encoding kept, Origin added
  EXPECT_FALSE(resp.headers.has("access-control-allow-methods"));  // preflight only
}

TEST(Cors, NeverAStarEvenWhenEveryOriginIsAllowed) {
  config::CorsFilter cfg = makeConfig(false);
  cfg.origins = {"*"};
  CorsFactory f(cfg);
  FakeCallbacks cb;
  auto filter = f.create();
  auto head = request("GET", "https://anything.test");
  filter->onRequestHeaders(head, cb);
  base::ResponseHead resp;
  filter->onResponseHeaders(resp, cb);
  EXPECT_EQ(field(resp.headers, "access-control-allow-origin"), "https://anything.test");
  EXPECT_FALSE(resp.headers.has("access-control-allow-credentials"));
}

TEST(Cors, DisallowedOriginGetsNoCorsFields) {
  CorsFactory f(makeConfig());
  FakeCallbacks cb;
  auto filter = f.create();
  auto head = request("GET", "https://evil.example.net");
  EXPECT_EQ(filter->onRequestHeaders(head, cb), FilterStatus::Continue);
  base::ResponseHead resp;
  resp.headers.add("access-control-allow-origin", "https://evil.example.net");
  resp.headers.add("vary", "origin");
  filter->onResponseHeaders(resp, cb);
  EXPECT_FALSE(resp.headers.has("access-control-allow-origin"));
  EXPECT_FALSE(resp.headers.has("access-control-expose-headers"));
  EXPECT_EQ(resp.headers.count("vary"), 1u);  // Origin was there already
}

}  // namespace
}  // namespace sluice::filters
