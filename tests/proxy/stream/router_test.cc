#include "proxy/stream/router.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "config/regex.h"

namespace sluice::proxy {
namespace {

config::Route route(std::string name) {
  config::Route r;
  r.name = std::move(name);
  r.upstream = "u";
  return r;
}

config::ValueMatch exact(std::string value) {
  config::ValueMatch v;
  v.exact = std::move(value);
  return v;
}

config::ValueMatch regex(const std::string& pattern) {
  config::ValueMatch v;
  v.kind = config::ValueMatch::Kind::Regex;
  v.regex = config::compileRegex(pattern, nullptr);
  return v;
}

config::ValueMatch present(bool yes) {
  config::ValueMatch v;
  v.kind = yes ? config::ValueMatch::Kind::Present : config::ValueMatch::Kind::Absent;
  return v;
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
  routes[0].match.headers = {{"x-env", exact("prod")}, {"x-tier", exact("gold")}};
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
  m.headers = {{"x-env", exact("prod")}};
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

TEST(Router, PathRegexMatchesTheWholePathWithoutTheQuery) {
  std::vector<config::Route> routes{route("users")};
  routes[0].match.path_regex = config::compileRegex("/users/[0-9]+", nullptr);
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "h", "/users/42")), 0);
  EXPECT_EQ(router.match(request("GET", "h", "/users/42?x=/y")), 0);
  // Whole-string: neither a longer path nor one with a prefix matches.
  EXPECT_EQ(router.match(request("GET", "h", "/users/42/edit")), -1);
  EXPECT_EQ(router.match(request("GET", "h", "/v1/users/42")), -1);
  EXPECT_EQ(router.match(request("GET", "h", "/users/x")), -1);
}

TEST(Router, HostRegexOnTheHostWithoutPort) {
  std::vector<config::Route> routes{route("tenants")};
  routes[0].match.host_regex = config::compileRegex(R"([a-z]+\.tenants\.test)", nullptr);
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "acme.tenants.test:8080", "/")), 0);
  EXPECT_EQ(router.match(request("GET", "acme.tenants.test", "/")), 0);
  EXPECT_EQ(router.match(request("GET", "acme1.tenants.test", "/")), -1);
  EXPECT_EQ(router.match(request("GET", "acme.tenants.test.evil", "/")), -1);
}

TEST(Router, HeaderRegexAndPresence) {
  std::vector<config::Route> routes{route("r")};
  routes[0].match.headers = {
      {"x-version", regex("v[12]")}, {"x-debug", present(false)}, {"x-tenant", present(true)}};
  Router router(routes);

  base::RequestHead ok = request("GET", "h", "/");
  ok.headers.add("x-version", "v2");
  ok.headers.add("x-tenant", "");  // present with an empty value still counts
  EXPECT_EQ(router.match(ok), 0);

  base::RequestHead v3 = ok;
  v3.headers.set("x-version", "v3");
  EXPECT_EQ(router.match(v3), -1);

  base::RequestHead partial = ok;
  partial.headers.set("x-version", "v22");
  EXPECT_EQ(router.match(partial), -1);

  base::RequestHead debug = ok;
  debug.headers.add("x-debug", "1");
  EXPECT_EQ(router.match(debug), -1);

  base::RequestHead no_tenant = ok;
  no_tenant.headers.remove("x-tenant");
  EXPECT_EQ(router.match(no_tenant), -1);

  base::RequestHead no_version = ok;
  no_version.headers.remove("x-version");
  EXPECT_EQ(router.match(no_version), -1);
}

// RFC 9110 5.3: several lines of one field are one value, joined with ", " in order. A
// condition sees that value, so a second line cannot slip past an exact value or a regex that
// the first line alone would satisfy (Envoy matches the joined value too).
TEST(Router, RepeatedFieldLinesAreMatchedAsTheirCombinedValue) {
  std::vector<config::Route> routes{route("prod"), route("v1-or-v2"), route("a-then-b"),
                                    route("fallback")};
  routes[0].match.headers = {{"x-env", exact("prod")}};
  routes[1].match.headers = {{"x-version", regex("v[12]")}};
  routes[2].match.headers = {{"x-list", exact("a, b")}};
  Router router(routes);

  base::RequestHead once = request("GET", "h", "/");
  once.headers.add("x-env", "prod");
  EXPECT_EQ(router.match(once), 0);
  base::RequestHead twice = once;
  twice.headers.add("x-env", "dev");
  EXPECT_EQ(router.match(twice), 3) << "\"prod, dev\" is not prod";

  base::RequestHead version = request("GET", "h", "/");
  version.headers.add("x-version", "v1");
  EXPECT_EQ(router.match(version), 1);
  version.headers.add("x-version", "v9");
  EXPECT_EQ(router.match(version), 3) << "\"v1, v9\" is not matched whole by v[12]";

  base::RequestHead list = request("GET", "h", "/");
  list.headers.add("x-list", "a");
  list.headers.add("x-other", "between");
  list.headers.add("x-list", "b");
  EXPECT_EQ(router.match(list), 2) << "two lines are one list, in order";
}

TEST(Router, QueryExactRegexAndPresenceOnRawValues) {
  std::vector<config::Route> routes{route("q")};
  routes[0].match.query = {{"tenant", exact("acme")},
                           {"page", regex("[0-9]+")},
                           {"beta", present(true)},
                           {"legacy", present(false)}};
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "h", "/?tenant=acme&page=3&beta")), 0);
  EXPECT_EQ(router.match(request("GET", "h", "/x?beta=&page=10&tenant=acme")), 0);
  EXPECT_EQ(router.match(request("GET", "h", "/?tenant=acme&page=3")), -1);              // no beta
  EXPECT_EQ(router.match(request("GET", "h", "/?tenant=acme&page=3&beta&legacy")), -1);  // legacy
  EXPECT_EQ(router.match(request("GET", "h", "/?tenant=acme&page=3a&beta")), -1);
  EXPECT_EQ(router.match(request("GET", "h", "/?tenant=acm&page=3&beta")), -1);
  EXPECT_EQ(router.match(request("GET", "h", "/")), -1);
  // Values are compared as sent, not percent-decoded (as Envoy does): %61cme is not acme.
  EXPECT_EQ(router.match(request("GET", "h", "/?tenant=%61cme&page=3&beta")), -1);
  // The first parameter of a name decides.
  EXPECT_EQ(router.match(request("GET", "h", "/?tenant=other&tenant=acme&page=3&beta")), -1);
  // A name is compared whole, not as a prefix.
  EXPECT_EQ(router.match(request("GET", "h", "/?tenants=acme&tenant=acme&page=1&betax&beta")), 0);
}

TEST(FindQueryParam, RawValuesAndPresence) {
  EXPECT_EQ(findQueryParam("a=1&b=2", "b"), std::optional<std::string_view>("2"));
  EXPECT_EQ(findQueryParam("a=1&b", "b"), std::optional<std::string_view>(""));
  EXPECT_EQ(findQueryParam("a=1&b=", "b"), std::optional<std::string_view>(""));
  EXPECT_EQ(findQueryParam("a=x%20y+z", "a"), std::optional<std::string_view>("x%20y+z"));
  EXPECT_EQ(findQueryParam("a=1=2", "a"), std::optional<std::string_view>("1=2"));
  EXPECT_EQ(findQueryParam("ab=1", "a"), std::nullopt);
  EXPECT_EQ(findQueryParam("", "a"), std::nullopt);
  EXPECT_EQ(findQueryParam("&&a=1&", "a"), std::optional<std::string_view>("1"));
}

TEST(Router, HigherPriorityFirstThenFileOrder) {
  std::vector<config::Route> routes{route("catch-all"), route("api"), route("api-admin"),
                                    route("api-second")};
  routes[1].match.path_prefix = "/api/";
  routes[1].priority = 10;
  routes[2].match.path_prefix = "/api/admin/";
  routes[2].priority = 20;
  routes[3].match.path_prefix = "/api/";
  routes[3].priority = 10;  // equal to api, later in the file: never chosen over it
  routes[0].priority = -1;
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "h", "/api/admin/x")), 2);
  EXPECT_EQ(router.match(request("GET", "h", "/api/users")), 1);
  EXPECT_EQ(router.match(request("GET", "h", "/other")), 0);
}

TEST(Router, EqualPrioritiesKeepFileOrder) {
  std::vector<config::Route> routes;
  for (int i = 0; i < 50; ++i) {
    routes.push_back(route("r" + std::to_string(i)));
    routes.back().priority = i % 3;
  }
  Router router(routes);
  // Every route matches; the first of the highest priority (2) in file order is route 2.
  EXPECT_EQ(router.match(request("GET", "h", "/")), 2);
}

// The index by exact host and first path segment must not change which route wins: every kind
// of route, in an order where the winner comes from each bucket in turn.
TEST(Router, IndexKeepsPriorityAndFileOrderAcrossBuckets) {
  std::vector<config::Route> routes{route("host-seg"), route("any-seg"),  route("wild"),
                                    route("regex"),    route("prefix"),   route("no-slash"),
                                    route("exact"),    route("host-any"), route("last")};
  routes[0].match.host = "a.test";
  routes[0].match.path_prefix = "/api/v1/";
  routes[0].match.methods = {"PUT"};
  routes[1].match.path_prefix = "/";
  routes[1].match.methods = {"POST"};
  routes[2].match.host = "*.test";
  routes[2].match.path_prefix = "/api/";
  routes[2].match.methods = {"PATCH"};
  routes[3].match.path_regex = config::compileRegex("/api/(x|y)/[0-9]+", nullptr);
  routes[4].match.path_prefix = "/api/";
  routes[4].match.methods = {"DELETE"};
  routes[5].match.path_prefix = "/ap";  // no whole segment: filed under any segment
  routes[5].match.methods = {"OPTIONS"};
  routes[6].match.path = "/api";
  routes[7].match.host = "a.test";
  routes[7].match.methods = {"HEAD"};
  routes[8].priority = -1;
  Router router(routes);
  EXPECT_EQ(router.match(request("PUT", "a.test", "/api/v1/x")), 0);
  EXPECT_EQ(router.match(request("POST", "a.test", "/api/v1/x")), 1);
  EXPECT_EQ(router.match(request("PATCH", "a.test", "/api/v1/x")), 2);
  EXPECT_EQ(router.match(request("GET", "a.test", "/api/x/1")), 3);
  EXPECT_EQ(router.match(request("DELETE", "b.test", "/api/v1/x")), 4);
  EXPECT_EQ(router.match(request("OPTIONS", "b.test", "/apx")), 5);
  EXPECT_EQ(router.match(request("GET", "a.test", "/api")), 6);
  EXPECT_EQ(router.match(request("HEAD", "a.test", "/zzz")), 7);
  EXPECT_EQ(router.match(request("GET", "a.test", "/api/z/1")), 8);
  EXPECT_EQ(router.match(request("GET", "a.test", "/")), 8);
  // A target that is not a path (OPTIONS *) reaches only routes without a path condition.
  EXPECT_EQ(router.match(request("OPTIONS", "a.test", "*")), 8);
}

TEST(Router, HigherPriorityInAnotherBucketWins) {
  std::vector<config::Route> routes{route("specific"), route("general")};
  routes[0].match.host = "a.test";
  routes[0].match.path_prefix = "/api/";
  routes[1].match.path_regex = config::compileRegex(".*", nullptr);
  routes[1].priority = 5;
  Router router(routes);
  EXPECT_EQ(router.match(request("GET", "a.test", "/api/x")), 1);
}

TEST(Router, ManyRoutesEachFoundThroughTheIndex) {
  std::vector<config::Route> routes;
  for (int i = 0; i < 300; ++i) {
    routes.push_back(route("r" + std::to_string(i)));
    config::RouteMatch& m = routes.back().match;
    switch (i % 3) {
      case 0:
        m.host = "h" + std::to_string(i) + ".test";
        break;
      case 1:
        m.path_prefix = "/s" + std::to_string(i) + "/";
        break;
      default:
        m.path_regex = config::compileRegex("^/s" + std::to_string(i) + "/[0-9]+$", nullptr);
    }
  }
  Router router(routes);
  for (int i = 0; i < 300; ++i) {
    std::string n = std::to_string(i);
    base::RequestHead head = i % 3 == 0 ? request("GET", "h" + n + ".test", "/")
                                        : request("GET", "other", "/s" + n + "/12");
    EXPECT_EQ(router.match(head), i) << i;
  }
  EXPECT_EQ(router.match(request("GET", "other", "/s2/x")), -1);
}

// Regexes the index cannot narrow (no literal first segment) go through one RE2::Set per kind
// once a request has run a few on their own: the winner must be the same as route by route.
TEST(Router, ManyRegexesWithoutLiteralSegmentThroughTheSet) {
  std::vector<config::Route> routes;
  for (int i = 0; i < 40; ++i) {
    std::string n = std::to_string(i);
    routes.push_back(route("p" + n));
    routes.back().match.path_regex = config::compileRegex("/(v1|v2)/s" + n + "/[0-9]+", nullptr);
    routes.push_back(route("h" + n));
    routes.back().match.host_regex = config::compileRegex("[a-z]+\\.h" + n + "\\.test", nullptr);
  }
  routes.push_back(route("also-p39"));  // the same pattern as p39, later: never chosen
  routes.back().match.path_regex = config::compileRegex("/(v1|v2)/s39/[0-9]+", nullptr);
  routes.push_back(route("p7-first"));  // the same as p7 with a higher priority: chosen
  routes.back().match.path_regex = config::compileRegex("/(v1|v2)/s7/[0-9]+", nullptr);
  routes.back().priority = 1;
  Router router(routes);
  for (int i = 0; i < 40; ++i) {
    std::string n = std::to_string(i);
    int want = i == 7 ? 81 : 2 * i;
    EXPECT_EQ(router.match(request("GET", "x", "/v2/s" + n + "/12")), want) << i;
    EXPECT_EQ(router.match(request("GET", "eu.h" + n + ".test", "/")), 2 * i + 1) << i;
    EXPECT_EQ(router.match(request("GET", "x", "/v3/s" + n + "/12")), -1) << i;
    EXPECT_EQ(router.match(request("GET", "eu.h" + n + ".test.x", "/")), -1) << i;
  }
  // Both kinds in one request: a path route before a host route wins.
  EXPECT_EQ(router.match(request("GET", "eu.h3.test", "/v1/s2/1")), 4);
  EXPECT_EQ(router.match(request("GET", "eu.h1.test", "/v1/s2/1")), 3);
}

// Routes with an exact header or query condition are filed by the value it requires: the winner
// must be the one a scan in priority and file order finds, whichever list it comes from.
TEST(Router, ExactHeaderAndQueryIndexKeepsOrder) {
  std::vector<config::Route> routes;
  for (int i = 0; i < 200; ++i) {
    std::string n = std::to_string(i);
    routes.push_back(route("h" + n));
    routes.back().match.headers = {{"x-tenant", exact("t" + n)}};
  }
  routes.push_back(route("regex-then-exact"));  // 200: filed by x-env, checked whole
  routes.back().match.headers = {{"x-tenant", regex("t1[0-9]")}, {"x-env", exact("prod")}};
  routes.push_back(route("query"));  // 201
  routes.back().match.query = {{"tenant", exact("q7")}};
  routes.push_back(route("two-fields"));  // 202: filed by x-tenant, also needs x-tier
  routes.back().match.headers = {{"x-tenant", exact("t3")}, {"x-tier", exact("gold")}};
  routes.push_back(route("priority"));  // 203: before everything with its value
  routes.back().match.headers = {{"x-tenant", exact("t150")}};
  routes.back().priority = 1;
  routes.push_back(route("absent"));  // 204: not filed (not an exact condition)
  routes.back().match.headers = {{"x-tenant", present(false)}};
  Router router(routes);
  auto with = [](std::vector<std::pair<std::string, std::string>> fields, std::string target) {
    base::RequestHead h = request("GET", "a.test", std::move(target));
    for (auto& [k, v] : fields) h.headers.add(k, v);
    return h;
  };
  for (int i = 0; i < 200; ++i) {
    int want = i == 150 ? 203 : i;
    EXPECT_EQ(router.match(with({{"x-tenant", "t" + std::to_string(i)}}, "/")), want) << i;
  }
  EXPECT_EQ(router.match(with({{"x-tenant", "t12"}, {"x-env", "prod"}}, "/")), 12);
  EXPECT_EQ(router.match(with({{"x-tenant", "t1x"}, {"x-env", "prod"}}, "/")), -1);
  EXPECT_EQ(router.match(with({{"x-tenant", "t10x"}, {"x-env", "prod"}}, "/")), -1);
  EXPECT_EQ(router.match(with({{"x-tenant", "t19"}, {"x-env", "prod"}}, "/")), 19);
  EXPECT_EQ(router.match(with({{"x-tenant", "t1a"}, {"x-env", "prod"}}, "/")), -1);
  EXPECT_EQ(router.match(with({{"x-tenant", "zz"}, {"x-env", "prod"}}, "/")), -1);
  // With route 13 requiring another value, t13 reaches the route filed by x-env.
  routes[13].match.headers = {{"x-tenant", exact("other")}};
  Router router2(routes);
  EXPECT_EQ(router2.match(with({{"x-tenant", "t13"}, {"x-env", "prod"}}, "/")), 200);
  EXPECT_EQ(router2.match(with({{"x-tenant", "t13"}, {"x-env", "dev"}}, "/")), -1);
  // Two lines of a name are one value ("t4, t5"), in the index as in a scan.
  EXPECT_EQ(router.match(with({{"x-tenant", "t4"}, {"x-tenant", "t5"}}, "/")), -1);
  EXPECT_EQ(router.match(with({}, "/x?a=1&tenant=q7")), 201);
  EXPECT_EQ(router.match(with({}, "/x?tenant=q7&tenant=q8")), 201);
  EXPECT_EQ(router.match(with({}, "/x?tenant=q8&tenant=q7")), 204);
  EXPECT_EQ(router.match(with({{"x-tenant", "t3"}}, "/")), 3);
  routes[3].match.headers = {{"x-tenant", exact("gone")}};
  Router router3(routes);
  EXPECT_EQ(router3.match(with({{"x-tenant", "t3"}}, "/")), -1);
  EXPECT_EQ(router3.match(with({{"x-tenant", "t3"}, {"x-tier", "gold"}}, "/")), 202);
  EXPECT_EQ(router.match(with({}, "/")), 204);
  EXPECT_EQ(router.match(with({{"x-tenant", "nobody"}}, "/")), -1);
}

}  // namespace
}  // namespace sluice::proxy
