// Tests for config/parse_edge_filters.cc: ip_filter, cors, basic_auth and api_key as a route's
// filters, their defaults, and errors at the right key (credential files included).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/sections.h"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct FilterResult {
  std::optional<FilterEntry> entry;
  std::vector<std::string> errors;
  std::vector<Diagnostic> diags;
};

FilterResult parse(const std::string& yaml) {
  FilterResult p;
  Reader r("f.yaml", &p.diags);
  RouteRefs refs;
  p.entry = parseFilter(r, YAML::Load(yaml), &refs);
  for (const auto& d : p.diags) p.errors.push_back(d.text());
  return p;
}

const std::string kBcrypt = "$2y$05$kFczuKsGfsm6s6YeGhgpVOAolnxiTNFdLq1pvdYuHrJBhRk6jXv4C";

std::string writeTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/edge_filters_" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ParseEdgeFilters, IpFilterAllowAndDenyV4AndV6) {
  auto p = parse("ip_filter: {allow: [10.0.0.0/8, '2001:db8::/32'], deny: [10.0.66.0/24]}");
  EXPECT_THAT(p.errors, IsEmpty());
  ASSERT_TRUE(p.entry);
  EXPECT_EQ(filterName(p.entry->spec), std::string("ip_filter"));
  auto& f = std::get<IpFilter>(p.entry->spec);
  ASSERT_EQ(f.allow.size(), 2u);
  EXPECT_EQ(f.allow[1].text, "2001:db8::/32");
  ASSERT_EQ(f.deny.size(), 1u);
}

TEST(ParseEdgeFilters, IpFilterErrors) {
  EXPECT_THAT(parse("ip_filter: {allow: [10.0.0.1/8]}").errors,
              ElementsAre(::testing::HasSubstr("f.yaml:1:20: allow: \"10.0.0.1/8\" has bits set")));
  EXPECT_THAT(parse("ip_filter: {}").errors,
              ElementsAre(::testing::HasSubstr("ip_filter needs allow or deny")));
}

TEST(ParseEdgeFilters, CorsValuesAndDefaults) {
  auto p = parse(
      "cors: {origins: ['https://App.example.com', '*.example.org'], methods: [get, PUT], "
      "headers: [Content-Type], expose_headers: [X-Request-Id], credentials: true, max_age: 10m}");
  EXPECT_THAT(p.errors, IsEmpty());
  auto& f = std::get<CorsFilter>(p.entry->spec);
  EXPECT_THAT(f.origins, ElementsAre("https://app.example.com", "*.example.org"));
  EXPECT_THAT(f.methods, ElementsAre("GET", "PUT"));
  EXPECT_THAT(f.headers, ElementsAre("content-type"));
  EXPECT_THAT(f.expose_headers, ElementsAre("x-request-id"));
  EXPECT_TRUE(f.credentials);
  EXPECT_EQ(f.max_age, Duration(600'000));
  auto d = parse("cors: {origins: ['*']}");
  EXPECT_THAT(d.errors, IsEmpty());
  auto& g = std::get<CorsFilter>(d.entry->spec);
  EXPECT_THAT(g.methods, ElementsAre("GET", "HEAD", "POST"));
  EXPECT_FALSE(g.credentials);
  EXPECT_FALSE(g.max_age);
}

TEST(ParseEdgeFilters, CorsErrors) {
  EXPECT_THAT(parse("cors: {}").errors,
              ElementsAre(::testing::HasSubstr("cors needs \"origins\"")));
  EXPECT_THAT(parse("cors: {origins: [app.example.com]}").errors,
              ElementsAre(::testing::HasSubstr("is not an origin")));
  EXPECT_THAT(parse("cors: {origins: ['*'], methods: ['GE T']}").errors,
              ElementsAre(::testing::HasSubstr("is not an HTTP token")));
}

TEST(ParseEdgeFilters, BasicAuthReadsTheHtpasswdFile) {
  std::string path = writeTemp("htpasswd", "alice:" + kBcrypt + "\nbob:$6$salt$hash\n");
  auto p = parse("basic_auth: {realm: admin, users_file: " + path + "}");
  EXPECT_THAT(p.errors, IsEmpty());
  auto& f = std::get<BasicAuthFilter>(p.entry->spec);
  EXPECT_EQ(f.realm, "admin");
  EXPECT_EQ(f.users_file, std::filesystem::path(path).lexically_normal().string());
  ASSERT_EQ(f.users.size(), 2u);
  EXPECT_EQ(f.users[1].user, "bob");
}

TEST(ParseEdgeFilters, BasicAuthFileErrorsAreReportedAtTheKey) {
  auto missing = parse("basic_auth: {users_file: /nonexistent/htpasswd}");
  ASSERT_EQ(missing.diags.size(), 1u);
  EXPECT_TRUE(missing.diags[0].resource);
  EXPECT_THAT(
      missing.errors[0],
      ::testing::HasSubstr("f.yaml:1:26: users_file: cannot read \"/nonexistent/htpasswd\""));
  std::string path = writeTemp("bad_htpasswd", "alice:" + kBcrypt + "\nbob:{SHA}secretvalue\n");
  auto bad = parse("basic_auth: {users_file: " + path + "}");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_THAT(bad.errors[0], ::testing::HasSubstr("\" line 2 column 5: the hash of user \"bob\""));
  EXPECT_EQ(bad.errors[0].find("secretvalue"), std::string::npos);
  EXPECT_THAT(parse("basic_auth: {realm: 'a\"b', users_file: " + path + "}").errors.size(), 2u);
  EXPECT_THAT(parse("basic_auth: {realm: x}").errors,
              ElementsAre(::testing::HasSubstr("basic_auth needs \"users_file\"")));
}

TEST(ParseEdgeFilters, ApiKeyFromHeaderOrQuery) {
  std::string path =
      writeTemp("keys.yaml", "- {consumer: acme, key_sha256: " + std::string(64, 'a') + "}\n");
  auto p = parse("api_key: {from: 'header:X-Api-Key', keys_file: " + path + "}");
  EXPECT_THAT(p.errors, IsEmpty());
  auto& f = std::get<ApiKeyFilter>(p.entry->spec);
  EXPECT_FALSE(f.from_query);
  EXPECT_EQ(f.name, "x-api-key");
  ASSERT_EQ(f.keys.size(), 1u);
  EXPECT_EQ(f.keys[0].consumer, "acme");
  auto q = parse("api_key: {from: 'query:apiKey', keys_file: " + path + "}");
  EXPECT_TRUE(std::get<ApiKeyFilter>(q.entry->spec).from_query);
  EXPECT_EQ(std::get<ApiKeyFilter>(q.entry->spec).name, "apiKey");
}

TEST(ParseEdgeFilters, ApiKeyErrors) {
  std::string path = writeTemp("bad_keys.yaml", "- {consumer: acme, key_sha256: nothex}\n");
  auto p = parse("api_key: {from: 'cookie:k', keys_file: " + path + "}");
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_THAT(p.errors[0], ::testing::HasSubstr("from: \"cookie:k\" is not a key source"));
  EXPECT_THAT(p.errors[1],
              ::testing::HasSubstr("\" line 1 column 32: key_sha256: expected 64 hex"));
  EXPECT_EQ(p.errors[1].find("nothex"), std::string::npos);
  auto missing = parse("api_key: {from: 'header:k', keys_file: /nonexistent/keys.yaml}");
  ASSERT_EQ(missing.diags.size(), 1u);
  EXPECT_TRUE(missing.diags[0].resource);
}

TEST(ParseEdgeFilters, RateLimitKeyConsumer) {
  auto p = parse("token_bucket: {rate: 10/s, key: consumer+ip}");
  EXPECT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(std::get<TokenBucketFilter>(p.entry->spec).common.key, "consumer+ip");
}

}  // namespace
}  // namespace sluice::config
