#include "filters/request_variables.h"

#include <gtest/gtest.h>

#include <string>

#include "config/units.h"

namespace sluice::filters {
namespace {

using config::TemplateVar;

struct Request {
  base::RequestHead head;
  StreamInfo info;
  JwtClaims claims;
  Request() {
    head.method = "POST";
    head.target = "/stripped?a=1";
    head.headers.add("x-a", "first");
    head.headers.add("x-a", "second");
    head.headers.add("x-forwarded-for", "198.51.100.9, 10.0.0.1");
    info.client_ip = "10.0.0.1";
    info.request_id = "rid-1";
    info.original_host = "api.example.com";
    info.original_target = "/v1/users?id=7&x=y";
    info.route_name = "users";
    claims.values = {{"sub", "alice"}};
  }
};

TEST(RequestVariables, EachVariableFromTheRequest) {
  Request r;
  ClientAddress direct({});
  RequestVariables v(r.head, r.info, direct);
  EXPECT_EQ(v.value(TemplateVar::ClientIp, ""), "10.0.0.1");
  EXPECT_EQ(v.value(TemplateVar::RequestId, ""), "rid-1");
  EXPECT_EQ(v.value(TemplateVar::Host, ""), "api.example.com");
  EXPECT_EQ(v.value(TemplateVar::Path, ""), "/v1/users");  // the client's, not the rewritten
  EXPECT_EQ(v.value(TemplateVar::Query, ""), "id=7&x=y");
  EXPECT_EQ(v.value(TemplateVar::Method, ""), "POST");
  EXPECT_EQ(v.value(TemplateVar::Scheme, ""), "http");
  r.info.secure = true;
  EXPECT_EQ(v.value(TemplateVar::Scheme, ""), "https");
  EXPECT_EQ(v.value(TemplateVar::Route, ""), "users");
  EXPECT_EQ(v.value(TemplateVar::Header, "x-a"), "first");
  EXPECT_EQ(v.value(TemplateVar::Header, "x-absent"), "");
  EXPECT_EQ(v.value(TemplateVar::Jwt, "sub"), "");  // no verified token yet
  EXPECT_EQ(v.value(TemplateVar::Consumer, ""), "");
  r.info.jwt_claims = &r.claims;
  r.info.consumer = "acme";
  EXPECT_EQ(v.value(TemplateVar::Jwt, "sub"), "alice");
  EXPECT_EQ(v.value(TemplateVar::Jwt, "email"), "");
  EXPECT_EQ(v.value(TemplateVar::Consumer, ""), "acme");
  r.info.original_target = "/plain";
  EXPECT_EQ(v.value(TemplateVar::Path, ""), "/plain");
  EXPECT_EQ(v.value(TemplateVar::Query, ""), "");
}

TEST(RequestVariables, ClientIpAsTheRateLimitKeySeesIt) {
  Request r;
  auto cidr = config::parseCidr("10.0.0.0/8");
  ASSERT_TRUE(cidr.ok());
  ClientAddress behind_proxy({*cidr});
  RequestVariables v(r.head, r.info, behind_proxy);
  EXPECT_EQ(v.value(TemplateVar::ClientIp, ""), "198.51.100.9");
}

TEST(ExpandHeaderValue, EmptyOrUnsafeResultsAreDropped) {
  Request r;
  ClientAddress direct({});
  RequestVariables v(r.head, r.info, direct);
  std::string error;
  auto user = config::ValueTemplate::parse("${jwt.sub}", &error);
  ASSERT_TRUE(user);
  EXPECT_FALSE(expandHeaderValue(*user, v).has_value());  // empty
  r.info.jwt_claims = &r.claims;
  EXPECT_EQ(expandHeaderValue(*user, v), "alice");
  r.claims.values[0].second = "alice\r\nx-admin: 1";
  EXPECT_FALSE(expandHeaderValue(*user, v).has_value());
  r.claims.values[0].second = std::string("a\0b", 3);
  EXPECT_FALSE(expandHeaderValue(*user, v).has_value());
}

}  // namespace
}  // namespace sluice::filters
