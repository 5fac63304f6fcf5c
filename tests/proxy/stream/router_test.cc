#include "proxy/stream/router.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace sluice::proxy {
namespace {

config::Route route(std::string name) {
  config::Route r;
  r.name = std::move(name);
  r.upstream = "u";
  return r;
}

base::RequestHead request(std::string method, std::string host, std::string target) {
  base::RequestHead h;
  h.method = std::move(method);
  h.host = std::move(host);
  h.target = std::move(target);
  return h;
}

TEST(StripPort, RemovesPortFromNameAndIpv4) {
  EXPECT_EQ(stripPort("example.com:8080"), "example.com");
  EXPECT_EQ(stripPort("example.com"), "example.com");
  EXPECT_EQ(stripPort("127.0.0.1:80"), "127.0.0.1");
  EXPECT_EQ(stripPort(""), "");
}

TEST(StripPort, KeepsIpv6Brackets) {
  EXPECT_EQ(stripPort("[::1]:80"), "[::1]");
  EXPECT_EQ(stripPort("[::1]"), "[::1]");
  EXPECT_EQ(stripPort("[2001:db8::7]:8443"), "[2001:db8::7]");
}

TEST(HostMatches, Exact) {
  EXPECT_TRUE(Router::hostMatches("example.com", "example.com"));
  EXPECT_FALSE(Router::hostMatches("example.com", "www.example.com"));
  EXPECT_FALSE(Router::hostMatches("example.com", "example.co"));
}

TEST(HostMatches, WildcardCoversSubdomainsButNotTheApex) {
  EXPECT_TRUE(Router::hostMatches("*.example.com", "a.example.com"));
  EXPECT_TRUE(Router::hostMatches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(Router::hostMatches("*.example.com", "example.com"));
  EXPECT_FALSE(Router::hostMatches("*.example.com", ".example.com"));
  EXPECT_FALSE(Router::hostMatches("*.example.com", "badexample.com"));
  EXPECT_FALSE(Router::hostMatches("*.example.com", "a.example.org"));
}

TEST(Router, EmptyConfigMatchesNothing) {
  std::vector<config::Route> routes;
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "example.com", "/")), -1);
}

TEST(Router, RouteWithoutConditionsMatchesEverything) {
  std::vector<config::Route> routes{route("all")};
  Router router(routes);
  EXPECT_EQ(router.match(request("DELETE", "anything", "/x?y")), 0);
}

TEST(Router, FirstMatchInFileOrderWins) {
  std::vector<config::Route> routes{route("api"), route("catch-all"), route("api-again")};
  routes[0].match.path_prefix = "/api";
  routes[2].match.path_prefix = "/api";
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "h", "/api/users")), 0);
  EXPECT_EQ(router.match(request("GET", "h", "/other")), 1);
}

TEST(Router, LaterRouteMatchesWhenEarlierDoesNot) {
  std::vector<config::Route> routes{route("a"), route("b")};
  routes[0].match.host = "a.test";
  routes[1].match.host = "b.test";
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "a.test", "/")), 0);
  EXPECT_EQ(router.match(request("GET", "b.test", "/")), 1);
  EXPECT_EQ(router.match(request("GET", "c.test", "/")), -1);
}

TEST(Router, HostPortIsStrippedBeforeMatching) {
  std::vector<config::Route> routes{route("exact"), route("wild")};
  routes[0].match.host = "example.com";
  routes[1].match.host = "*.example.com";
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "example.com:8080", "/")), 0);
  EXPECT_EQ(router.match(request("GET", "example.com", "/")), 0);
  EXPECT_EQ(router.match(request("GET", "a.example.com:443", "/")), 1);
  EXPECT_EQ(router.match(request("GET", "a.b.example.com", "/")), 1);
  EXPECT_EQ(router.match(request("GET", "example.org:80", "/")), -1);
}

TEST(Router, Ipv6HostWithPort) {
  std::vector<config::Route> routes{route("v6")};
  routes[0].match.host = "[::1]";
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "[::1]:80", "/")), 0);
  EXPECT_EQ(router.match(request("GET", "[::1]", "/")), 0);
  EXPECT_EQ(router.match(request("GET", "[::2]:80", "/")), -1);
}

TEST(Router, ExactPathIgnoresQueryAndRequiresEquality) {
  std::vector<config::Route> routes{route("health")};
  routes[0].match.path = "/health";
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "h", "/health")), 0);
  EXPECT_EQ(router.match(request("GET", "h", "/health?verbose=1")), 0);
  EXPECT_EQ(router.match(request("GET", "h", "/health/")), -1);
  EXPECT_EQ(router.match(request("GET", "h", "/healthz")), -1);
  EXPECT_EQ(router.match(request("GET", "h", "/")), -1);
}

TEST(Router, PathPrefix) {
  std::vector<config::Route> routes{route("v1")};
  routes[0].match.path_prefix = "/v1/";
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "h", "/v1/")), 0);
  EXPECT_EQ(router.match(request("GET", "h", "/v1/users?id=3")), 0);
  EXPECT_EQ(router.match(request("GET", "h", "/v1")), -1);
  EXPECT_EQ(router.match(request("GET", "h", "/v2/users")), -1);
  // The query is not part of the path a prefix is compared with.
  EXPECT_EQ(router.match(request("GET", "h", "/x?/v1/")), -1);
}

TEST(Router, ExactPathBeforePrefixInFileOrder) {
  std::vector<config::Route> routes{route("exact"), route("prefix")};
  routes[0].match.path = "/api";
  routes[1].match.path_prefix = "/api";
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "h", "/api")), 0);
  EXPECT_EQ(router.match(request("GET", "h", "/api/x")), 1);
}

TEST(Router, Methods) {
  std::vector<config::Route> routes{route("rw"), route("rest")};
  routes[0].match.methods = {"POST", "PUT"};
  Router router(routes);
  EXPECT_EQ(router.match(request("POST", "h", "/")), 0);
  EXPECT_EQ(router.match(request("PUT", "h", "/")), 0);
  EXPECT_EQ(router.match(request("GET", "h", "/")), 1);
  // Methods are case-sensitive tokens.
  EXPECT_EQ(router.match(request("post", "h", "/")), 1);
}

TEST(Router, HeadersMustAllMatchExactly) {
  std::vector<config::Route> routes{route("prod")};
  routes[0].match.headers = {{"x-env", "prod"}, {"x-tier", "gold"}};
  Router router(routes);

  base::RequestHead both = request("GET", "h", "/");
  both.headers.add("x-env", "prod");
  both.headers.add("x-tier", "gold");
  EXPECT_EQ(router.match(both), 0);

  base::RequestHead one = request("GET", "h", "/");
  one.headers.add("x-env", "prod");
  EXPECT_EQ(router.match(one), -1);

  base::RequestHead wrong_value = request("GET", "h", "/");
  wrong_value.headers.add("x-env", "Prod");
  wrong_value.headers.add("x-tier", "gold");
  EXPECT_EQ(router.match(wrong_value), -1);

  base::RequestHead prefix_value = request("GET", "h", "/");
  prefix_value.headers.add("x-env", "production");
  prefix_value.headers.add("x-tier", "gold");
  EXPECT_EQ(router.match(prefix_value), -1);
}

TEST(Router, AllConditionsTogether) {
  std::vector<config::Route> routes{route("api-v1")};
  config::RouteMatch& m = routes[0].match;
  m.host = "api.example.com";
  m.path_prefix = "/v1/";
  m.methods = {"GET", "POST"};
  m.headers = {{"x-env", "prod"}};
  Router router(routes);

  base::RequestHead ok = request("POST", "api.example.com:8443", "/v1/items?x=1");
  ok.headers.add("x-env", "prod");
  EXPECT_EQ(router.match(ok), 0);

  base::RequestHead bad_host = ok;
  bad_host.host = "web.example.com";
  EXPECT_EQ(router.match(bad_host), -1);

  base::RequestHead bad_path = ok;
  bad_path.target = "/v2/items";
  EXPECT_EQ(router.match(bad_path), -1);

  base::RequestHead bad_method = ok;
  bad_method.method = "DELETE";
  EXPECT_EQ(router.match(bad_method), -1);

  base::RequestHead no_header = ok;
  no_header.headers.clear();
  EXPECT_EQ(router.match(no_header), -1);
}

}  // namespace
}  // namespace sluice::proxy
