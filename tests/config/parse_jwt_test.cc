// Tests for config/parse_jwt.cc: the jwt filter's keys, defaults and errors at the right key
// (its jwks file and secret_file read at load).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "config/sections.h"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Result {
  std::optional<FilterEntry> entry;
  std::vector<std::string> errors;
};

Result parse(const std::string& yaml) {
  Result p;
  std::vector<Diagnostic> diags;
  Reader r("f.yaml", &diags);
  RouteRefs refs;
  p.entry = parseFilter(r, YAML::Load(yaml), &refs);
  for (const auto& d : diags) p.errors.push_back(d.text());
  return p;
}

const std::string kData = std::string(SLUICE_SOURCE_DIR) + "/tests/filters/auth/data/";

std::string writeTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/parse_jwt_" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ParseJwt, EveryKey) {
  auto p = parse(
      "jwt: {issuer: 'https://idp/', audiences: [api, web], algorithms: [RS256, HS256],"
      " jwks: {file: '" +
      kData + "jwks.json'}, secret_file: '" + kData +
      "hs_secret.txt', from: 'cookie:session', leeway: 30s,"
      " claims_to_headers: {sub: X-User-Id}, optional: true}");
  ASSERT_THAT(p.errors, IsEmpty());
  ASSERT_TRUE(p.entry);
  EXPECT_EQ(filterName(p.entry->spec), std::string("jwt"));
  auto& f = std::get<JwtFilter>(p.entry->spec);
  EXPECT_EQ(f.issuer, "https://idp/");
  EXPECT_THAT(f.audiences, ElementsAre("api", "web"));
  EXPECT_EQ(f.jwks.size(), 4u);
  EXPECT_EQ(f.secret, "0123456789abcdef0123456789abcdef-shared");  // newline dropped
  EXPECT_EQ(f.from, JwtFilter::From::Cookie);
  EXPECT_EQ(f.from_name, "session");
  EXPECT_EQ(f.leeway, std::chrono::seconds(30));
  ASSERT_EQ(f.claims_to_headers.size(), 1u);
  EXPECT_EQ(f.claims_to_headers[0].second, "x-user-id");
  EXPECT_TRUE(f.optional);
}

TEST(ParseJwt, DefaultsAndAudienceAsAString) {
  auto p = parse("jwt: {audiences: api, jwks: {file: '" + kData + "jwks.json'}}");
  ASSERT_THAT(p.errors, IsEmpty());
  auto& f = std::get<JwtFilter>(p.entry->spec);
  EXPECT_THAT(f.audiences, ElementsAre("api"));
  EXPECT_THAT(f.algorithms, ElementsAre("RS256", "ES256", "EdDSA"));
  EXPECT_EQ(f.from, JwtFilter::From::Header);
  EXPECT_EQ(f.from_name, "authorization");
  EXPECT_FALSE(f.optional);
}

TEST(ParseJwt, NoneAndHmacWithoutSecretAreRefused) {
  std::string jwks = "jwks: {file: '" + kData + "jwks.json'}";
  EXPECT_THAT(parse("jwt: {algorithms: [none], " + jwks + "}").errors,
              ElementsAre(HasSubstr("algorithms: \"none\" is not supported")));
  EXPECT_THAT(parse("jwt: {algorithms: [HS256], " + jwks + "}").errors,
              ElementsAre(HasSubstr("HS256/384/512 need secret_file")));
  EXPECT_THAT(parse("jwt: {algorithms: [RS256]}").errors,
              ElementsAre(HasSubstr("jwt needs jwks:")));
}

TEST(ParseJwt, FilesAreReportedAtTheirKey) {
  auto missing = parse("jwt: {jwks: {file: /nonexistent/jwks.json}}");
  EXPECT_THAT(missing.errors,
              ElementsAre(HasSubstr("f.yaml:1:20: file: cannot read \"/nonexistent/jwks.json\"")));
  std::string bad = writeTemp("bad.json", "{\"keys\": [{\"kty\": \"RSA\"}]}");
  EXPECT_THAT(parse("jwt: {jwks: {file: '" + bad + "'}}").errors,
              ElementsAre(HasSubstr("key 0 has no \"n\" string")));
  std::string shortSecret = writeTemp("short.txt", "abc\n");
  EXPECT_THAT(parse("jwt: {algorithms: [HS256], secret_file: '" + shortSecret + "'}").errors,
              ElementsAre(HasSubstr("holds under 32 bytes")));
}

TEST(ParseJwt, FromAndClaimsToHeadersErrors) {
  std::string jwks = "jwks: {file: '" + kData + "jwks.json'}";
  EXPECT_THAT(parse("jwt: {from: 'body:x', " + jwks + "}").errors,
              ElementsAre(HasSubstr("from: \"body:x\" is not a token source")));
  EXPECT_THAT(parse("jwt: {claims_to_headers: [sub], " + jwks + "}").errors,
              ElementsAre(HasSubstr("claims_to_headers: write a map")));
  EXPECT_THAT(parse("jwt: {jwks: {file: a.json, url: 'https://x/'}}").errors,
              ElementsAre(HasSubstr("jwks needs either file: or url:")));
}

TEST(ParseJwt, JwtClaimIsARateLimitKey) {
  auto p = parse("token_bucket: {rate: 10/s, key: 'jwt:sub+ip'}");
  EXPECT_THAT(p.errors, IsEmpty());
  EXPECT_THAT(parse("token_bucket: {rate: 10/s, key: 'jwt:'}").errors,
              ElementsAre(HasSubstr("is not a request key")));
}

}  // namespace
}  // namespace sluice::config
