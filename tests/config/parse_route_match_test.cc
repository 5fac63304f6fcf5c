// Tests for config/parse_route_match.cc: every form of a route's match (host, paths, regexes,
// headers, query), `priority`, `rewrite.path_regex`, and errors at the right line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/json_dump.h"
#include "config/loader.h"
#include "config/regex.h"
#include "config/sections.h"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Kind = ValueMatch::Kind;

struct Result {
  Route route;
  std::vector<std::string> errors;
};

Result parse(const std::string& yaml) {
  Result p;
  std::vector<Diagnostic> diags;
  Reader r("f.yaml", &diags);
  RouteRefs refs;
  p.route = parseRoute(r, YAML::Load(yaml), &refs);
  for (const auto& d : diags) p.errors.push_back(d.text());
  return p;
}

const LoadOptions kNoFileChecks{false, nullptr};

std::vector<std::string> loadErrors(const std::string& routes) {
  std::string yaml =
      "listeners: [{name: l, address: \"127.0.0.1:1\"}]\n"
      "upstreams: [{name: app, targets: [{address: \"127.0.0.1:2\"}]}]\n"
      "routes:\n" +
      routes;
  auto r = loadString(yaml, "s.yaml", kNoFileChecks);
  std::vector<std::string> out;
  for (const auto& d : r.errors) out.push_back(d.text());
  return out;
}

TEST(ParseRouteMatch, PlainFormsAsBefore) {
  auto p = parse(
      "{name: r, upstream: app, match: {host: API.example.com, path_prefix: /v1/,"
      " methods: [get], headers: {X-Env: prod}}}");
  ASSERT_THAT(p.errors, IsEmpty());
  const RouteMatch& m = p.route.match;
  EXPECT_EQ(*m.host, "api.example.com");
  EXPECT_FALSE(m.host_regex);
  EXPECT_EQ(*m.path_prefix, "/v1/");
  EXPECT_FALSE(m.path_regex);
  EXPECT_THAT(m.methods, ElementsAre("GET"));
  ASSERT_EQ(m.headers.size(), 1u);
  EXPECT_EQ(m.headers[0].first, "x-env");
  EXPECT_EQ(m.headers[0].second.kind, Kind::Exact);
  EXPECT_EQ(m.headers[0].second.exact, "prod");
  EXPECT_TRUE(m.query.empty());
  EXPECT_EQ(p.route.priority, 0);
}

TEST(ParseRouteMatch, RegexesAndConditions) {
  auto p = parse(
      "name: r\n"
      "upstream: app\n"
      "priority: 7\n"
      "match:\n"
      "  host: {regex: '[a-z]+\\.example\\.com'}\n"
      "  path_regex: '^/users/[0-9]+$'\n"
      "  headers:\n"
      "    x-env: prod\n"
      "    x-version: {regex: '^v[12]$'}\n"
      "    x-debug: {present: false}\n"
      "    x-tenant: {present: true}\n"
      "  query: {tenant: acme, page: {regex: '[0-9]+'}, beta: {present: true},"
      " old: {present: false}}\n");
  ASSERT_THAT(p.errors, IsEmpty());
  const RouteMatch& m = p.route.match;
  EXPECT_EQ(p.route.priority, 7);
  EXPECT_FALSE(m.host);
  ASSERT_TRUE(m.host_regex);
  EXPECT_TRUE(fullMatch(*m.host_regex, "api.example.com"));
  EXPECT_FALSE(fullMatch(*m.host_regex, "api.example.com.evil"));
  ASSERT_TRUE(m.path_regex);
  EXPECT_EQ(m.path_regex->pattern, "^/users/[0-9]+$");
  EXPECT_TRUE(fullMatch(*m.path_regex, "/users/12"));
  ASSERT_EQ(m.headers.size(), 4u);
  EXPECT_EQ(m.headers[0].second.kind, Kind::Exact);
  EXPECT_EQ(m.headers[1].first, "x-version");
  EXPECT_EQ(m.headers[1].second.kind, Kind::Regex);
  EXPECT_TRUE(fullMatch(*m.headers[1].second.regex, "v2"));
  EXPECT_EQ(m.headers[2].second.kind, Kind::Absent);
  EXPECT_EQ(m.headers[3].second.kind, Kind::Present);
  ASSERT_EQ(m.query.size(), 4u);
  EXPECT_EQ(m.query[0].first, "tenant");
  EXPECT_EQ(m.query[0].second.kind, Kind::Exact);
  EXPECT_EQ(m.query[0].second.exact, "acme");
  EXPECT_EQ(m.query[1].second.kind, Kind::Regex);
  EXPECT_EQ(m.query[2].second.kind, Kind::Present);
  EXPECT_EQ(m.query[3].second.kind, Kind::Absent);
}

TEST(ParseRouteMatch, QueryNamesKeepTheirCase) {
  auto p = parse("{name: r, upstream: app, match: {query: {Tenant: Acme}}}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.route.match.query[0].first, "Tenant");
  EXPECT_EQ(p.route.match.query[0].second.exact, "Acme");
}

TEST(ParseRouteMatch, NegativePriority) {
  auto p = parse("{name: r, upstream: app, priority: -5}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.route.priority, -5);
}

TEST(ParseRouteMatch, BadRegexIsAnErrorAtItsLine) {
  auto errors = loadErrors(
      "  - name: r\n"              // line 4
      "    upstream: app\n"        // 5
      "    match:\n"               // 6
      "      path_regex: '/(a'\n"  // 7
      "      host: {regex: 'a[b'}\n"
      "      headers: {x-v: {regex: '*x'}}\n"
      "      query: {q: {regex: '(?P<n'}}\n");
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_THAT(errors[0], HasSubstr("s.yaml:7:19: path_regex: bad regex \"/(a\": missing )"));
  EXPECT_THAT(errors[1], HasSubstr("s.yaml:8:"));
  EXPECT_THAT(errors[1], HasSubstr("host.regex: bad regex \"a[b\""));
  EXPECT_THAT(errors[2], HasSubstr("s.yaml:9:"));
  EXPECT_THAT(errors[2], HasSubstr("x-v.regex: bad regex \"*x\""));
  EXPECT_THAT(errors[3], HasSubstr("s.yaml:10:"));
  EXPECT_THAT(errors[3], HasSubstr("q.regex: bad regex"));
}

TEST(ParseRouteMatch, FormErrors) {
  auto errors = loadErrors(
      "  - name: r\n"
      "    upstream: app\n"
      "    priority: high\n"                               // 6
      "    match:\n"                                       // 7
      "      path: /a\n"                                   // 8
      "      path_regex: '/a'\n"                           // 9
      "      host: {regex: 'a', exact: b}\n"               // 10
      "      headers: {x-a: {regex: a, present: true}}\n"  // 11
      "      query: {'a=b': x, c: {present: maybe}, d: [1]}\n");
  EXPECT_THAT(errors, ElementsAre(HasSubstr("s.yaml:6:15: priority: expected"),
                                  HasSubstr("s.yaml:8:7: path, path_prefix and path_regex exclude"),
                                  HasSubstr("s.yaml:10:26: unknown key \"exact\" in host"),
                                  HasSubstr("s.yaml:11:22: x-a: write one of"),
                                  HasSubstr("s.yaml:12:15: query: \"a=b\" is not a query"),
                                  HasSubstr("s.yaml:12:38: present: expected true or false"),
                                  HasSubstr("s.yaml:12:49: d: expected a value, {regex")));
}

TEST(ParseRouteMatch, EmptyRegexAndEmptyHeaderValue) {
  auto p = parse("{name: r, upstream: app, match: {path_regex: '', headers: {x-a: ''}}}");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_THAT(p.errors[0], HasSubstr("path_regex: the regex is empty"));
  EXPECT_EQ(p.route.match.headers[0].second.exact, "");  // an empty exact value is allowed
}

TEST(ParseRewritePathRegex, PatternAndReplace) {
  auto p = parse(
      "{name: r, upstream: app, rewrite: {path_regex: {pattern: '^/old/(.*)$', replace: "
      "'/new/\\1'}, host: internal}}");
  ASSERT_THAT(p.errors, IsEmpty());
  const Rewrite& w = p.route.rewrite;
  ASSERT_TRUE(w.path_regex);
  EXPECT_EQ(w.path_regex_replace, "/new/\\1");
  EXPECT_EQ(rewriteFull(*w.path_regex, "/old/a/b", w.path_regex_replace), "/new/a/b");
}

TEST(ParseRewritePathRegex, Errors) {
  auto errors = loadErrors(
      "  - name: r\n"
      "    upstream: app\n"
      "    rewrite: {path_regex: {pattern: '^/(a)$', replace: '/\\2'}}\n"  // 6
      "  - name: s\n"
      "    upstream: app\n"
      "    rewrite: {path_regex: {pattern: '^/(a$', replace: /x}}\n"  // 9
      "  - name: t\n"
      "    upstream: app\n"
      "    rewrite: {path_regex: {pattern: '^/(a)$', replace: '/x?y=\\1'}}\n"  // 12
      "  - name: u\n"
      "    upstream: app\n"
      "    rewrite: {path_regex: {pattern: '^/(a)$'}}\n"  // 15
      "  - name: v\n"
      "    upstream: app\n"
      "    rewrite: {strip_prefix: /v1, path_regex: {pattern: a, replace: /b}}\n");  // 18
  EXPECT_THAT(errors,
              ElementsAre(HasSubstr("s.yaml:6:56: replace: \"/\\2\": Rewrite schema requests 2 "
                                    "matches, but the regexp only has 1"),
                          HasSubstr("s.yaml:9:37: pattern: bad regex \"^/(a$\": missing )"),
                          HasSubstr("s.yaml:12:56: replace: \"/x?y=\\1\" may not contain"),
                          HasSubstr("s.yaml:15:27: path_regex needs \"replace\""),
                          HasSubstr("s.yaml:18:34: strip_prefix and path_regex exclude")));
}

TEST(ParseRouteMatch, DumpRoundTripsEveryForm) {
  std::string yaml =
      "listeners: [{name: l, address: \"127.0.0.1:1\"}]\n"
      "upstreams: [{name: app, targets: [{address: \"127.0.0.1:2\"}]}]\n"
      "routes:\n"
      "  - name: r\n"
      "    upstream: app\n"
      "    priority: -3\n"
      "    match: {host: {regex: 'a+'}, path_regex: '/x/[0-9]+', headers: {x-a: v,"
      " x-b: {regex: 'v[0-9]'}, x-c: {present: false}}, query: {q: {present: true}}}\n"
      "    rewrite: {path_regex: {pattern: '^/x/(.*)$', replace: '/y/\\1'}}\n";
  auto first = loadString(yaml, "s.yaml", kNoFileChecks);
  ASSERT_TRUE(first.config) << first.errors[0].text();
  std::string json = toJson(*first.config);
  EXPECT_THAT(json, HasSubstr("\"priority\":-3"));
  EXPECT_THAT(json, HasSubstr("\"host\":{\"regex\":\"a+\"}"));
  EXPECT_THAT(json, HasSubstr("\"x-c\":{\"present\":false}"));
  auto second = loadString(json, "dump.json", kNoFileChecks);
  ASSERT_TRUE(second.config) << second.errors[0].text() << "\n" << json;
  EXPECT_EQ(toJson(*second.config), json);
}

}  // namespace
}  // namespace sluice::config
