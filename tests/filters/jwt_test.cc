// Tests for filters/jwt.cc: the refusals issue 15 lists, each with its answer, claims_to_headers,
// optional, the token sources and the verified-token cache. Fixed vectors from
// tests/filters/auth/data (make_vectors.py); the clock stands at 1800000000.
#include "filters/jwt.h"

#include <gtest/gtest.h>

#include <fstream>
#include <list>
#include <map>
#include <sstream>

#include "config/jwks.h"
#include "tests/filters/auth_callbacks.h"

namespace sluice::filters {
namespace {

std::string readData(const std::string& name) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/tests/filters/auth/data/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class JwtCallbacks : public testing::AuthCallbacks {
 public:
  void setJwtClaims(std::shared_ptr<const JwtClaims> c) override {
    claims = std::move(c);
    info_.jwt_claims = claims.get();
  }
  void redactQueryParameter(std::string_view name) override { redacted = name; }
  std::shared_ptr<const JwtClaims> claims;
  std::string redacted;
};

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::istringstream in(readData("tokens.txt"));
    std::string name, token;
    while (in >> name >> token) tokens_[name] = token;
    ASSERT_FALSE(config::parseJwks(readData("jwks.json"), &cfg_.jwks));
    cfg_.issuer = "https://idp.example/";
    cfg_.audiences = {"api"};
    cfg_.algorithms = {"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"};
    cfg_.claims_to_headers = {{"sub", "x-user-id"}, {"scope", "x-user-scope"}};
  }
  std::shared_ptr<const JwtFactory> factory() {
    std::string error;
    auto f = JwtFactory::make(cfg_, AuthCounters::make(registry_, "r", "jwt"), &error,
                              [this] { return now_; });
    EXPECT_TRUE(f) << error;
    return f;
  }
  // The status the filter answers for `authorization` (0: passed on).
  int run(const std::string& authorization, JwtCallbacks& cb, base::RequestHead* out = nullptr) {
    auto f = factory();
    base::RequestHead head;
    head.target = "/";
    if (!authorization.empty()) head.headers.add("authorization", authorization);
    head.headers.add("x-user-id", "mallory");  // client-sent: always removed
    head.headers.add("x-user-scope", "admin");
    FilterStatus s = f->create()->onRequestHeaders(head, cb);
    if (out != nullptr) *out = head;
    if (s == FilterStatus::Continue) return 0;
    return cb.replies.empty() ? -1 : cb.replies[0].status;
  }
  // The error_description of a 401 for token `name`, or "passed".
  std::string refusal(const std::string& name) {
    JwtCallbacks cb;
    int status = run("Bearer " + tokens_.at(name), cb);
    if (status == 0) return "passed";
    EXPECT_EQ(status, 401);
    const std::string* www = cb.replies[0].headers.get("www-authenticate");
    EXPECT_TRUE(www);
    if (www == nullptr) return "?";
    EXPECT_EQ(www->find(tokens_.at(name).substr(0, 40)), std::string::npos);
    std::string_view prefix =
        "Bearer realm=\"sluice\", error=\"invalid_token\", error_description=\"";
    EXPECT_EQ(www->substr(0, prefix.size()), prefix);
    return www->substr(prefix.size(), www->size() - prefix.size() - 1);
  }
  config::JwtFilter cfg_;
  base::MetricsRegistry registry_;
  std::map<std::string, std::string> tokens_;
  int64_t now_ = 1800000000;
};

TEST_F(JwtTest, GoodTokensOfEveryAlgorithmPassWithTheirClaims) {
  for (const char* name : {"rs256", "rs384", "rs512", "ps256", "es256", "es384", "eddsa",
                           "rs256_nokid", "aud_array"}) {
    JwtCallbacks cb;
    base::RequestHead head;
    EXPECT_EQ(run("Bearer " + tokens_.at(name), cb, &head), 0) << name;
    ASSERT_TRUE(cb.claims) << name;
    EXPECT_EQ(*cb.claims->find("tenant"), "t1");
    ASSERT_TRUE(head.headers.get("x-user-id"));
    EXPECT_EQ(*head.headers.get("x-user-id"), "alice");  // the claim, not the client's field
    EXPECT_FALSE(head.headers.get("x-user-scope"));      // no scope claim: removed, not set
  }
}

TEST_F(JwtTest, EachRefusalHasItsReason) {
  EXPECT_EQ(refusal("alg_none"), "algorithm not accepted");
  EXPECT_EQ(refusal("hs256_rsa_pem"), "algorithm not accepted");
  EXPECT_EQ(refusal("unknown_kid"), "unknown key");
  EXPECT_EQ(refusal("expired"), "token expired");
  EXPECT_EQ(refusal("not_yet"), "token not yet valid");
  EXPECT_EQ(refusal("wrong_iss"), "issuer not accepted");
  EXPECT_EQ(refusal("wrong_aud"), "audience not accepted");
  EXPECT_EQ(refusal("tampered_payload"), "invalid signature");
  EXPECT_EQ(refusal("tampered_signature"), "invalid signature");
  EXPECT_EQ(refusal("tampered_es256"), "invalid signature");
  EXPECT_EQ(refusal("other_key"), "invalid signature");
  EXPECT_EQ(refusal("bad_base64"), "malformed token");
  EXPECT_EQ(refusal("bad_json"), "malformed token");
  EXPECT_EQ(refusal("two_segments"), "malformed token");
  EXPECT_EQ(refusal("oversized"), "token too large");
  EXPECT_EQ(refusal("hs256"), "algorithm not accepted");  // HS256 not configured
}

TEST_F(JwtTest, AlgorithmConfusionFailsEvenWithHs256Allowed) {
  std::string secret = readData("hs_secret.txt");
  secret.pop_back();
  cfg_.secret = secret;
  cfg_.algorithms.push_back("HS256");
  EXPECT_EQ(refusal("hs256"), "passed");
  // Signed with the RSA public key's bytes: checked with the shared secret, never the RSA key.
  EXPECT_EQ(refusal("hs256_rsa_pem"), "invalid signature");
  EXPECT_EQ(refusal("rs256"), "passed");
}

TEST_F(JwtTest, MissingTokenGetsAChallengeWithoutErrorCode) {
  JwtCallbacks cb;
  base::RequestHead head;
  EXPECT_EQ(run("", cb), 401);
  EXPECT_EQ(*cb.replies[0].headers.get("www-authenticate"), "Bearer realm=\"sluice\"");
  JwtCallbacks basic;
  EXPECT_EQ(run("Basic YTpi", basic), 401);  // not a bearer token: missing
  EXPECT_EQ(*basic.replies[0].headers.get("www-authenticate"), "Bearer realm=\"sluice\"");
}

TEST_F(JwtTest, OptionalLetsMissingTokensPassButNotBadOnes) {
  cfg_.optional = true;
  JwtCallbacks cb;
  base::RequestHead head;
  EXPECT_EQ(run("", cb, &head), 0);
  EXPECT_FALSE(cb.claims);
  EXPECT_FALSE(head.headers.get("x-user-id"));  // still removed
  EXPECT_EQ(refusal("expired"), "token expired");
}

TEST_F(JwtTest, CookieAndQuerySources) {
  cfg_.from = config::JwtFilter::From::Cookie;
  cfg_.from_name = "session";
  auto f = factory();
  base::RequestHead head;
  head.target = "/";
  head.headers.add("cookie", "a=1; session=" + tokens_.at("rs256"));
  JwtCallbacks cb;
  EXPECT_EQ(f->create()->onRequestHeaders(head, cb), FilterStatus::Continue);
  cfg_.from = config::JwtFilter::From::Query;
  cfg_.from_name = "access_token";
  f = factory();
  base::RequestHead q;
  q.target = "/x?access_token=" + tokens_.at("es256") + "&b=2";
  JwtCallbacks qcb;
  EXPECT_EQ(f->create()->onRequestHeaders(q, qcb), FilterStatus::Continue);
  EXPECT_EQ(qcb.redacted, "access_token");  // masked in the access log
}

TEST_F(JwtTest, RepeatedTokensComeFromTheCacheUntilExp) {
  auto f = factory();
  std::string why;
  auto first = f->verify(tokens_.at("rs256"), &why);
  ASSERT_TRUE(first) << why;
  auto second = f->verify(tokens_.at("rs256"), &why);
  EXPECT_EQ(first.get(), second.get());  // the same claims object: no second verification
  now_ = 4102444800;                     // exp reached: not served from the cache, and refused
  EXPECT_FALSE(f->verify(tokens_.at("rs256"), &why));
  EXPECT_EQ(why, "token expired");
}

TEST_F(JwtTest, DecisionsAreCounted) {
  JwtCallbacks a, b;
  run("Bearer " + tokens_.at("rs256"), a);
  run("Bearer " + tokens_.at("expired"), b);
  std::string text = registry_.render();
  EXPECT_NE(
      text.find("sluice_auth_decisions_total{route=\"r\",filter=\"jwt\",result=\"allowed\"} 1"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find("sluice_auth_decisions_total{route=\"r\",filter=\"jwt\",result=\"denied\"} 1"),
      std::string::npos);
}

TEST_F(JwtTest, AFetchedKeySetIsAwaitedAndRefreshedEarlyForAnUnknownKid) {
  cfg_.jwks.clear();
  cfg_.jwks_url = "https://idp.example/keys/jwks.json";
  cfg_.jwks_upstream = "idp";
  auto f = factory();
  std::list<base::RequestHead> heads;  // a request's head outlives its wait, as in the proxy
  auto request = [&](const std::string& name, JwtCallbacks& cb) {
    base::RequestHead& head = heads.emplace_back();
    head.target = "/";
    head.headers.add("authorization", "Bearer " + tokens_.at(name));
    auto filter = f->create();
    return std::make_pair(filter->onRequestHeaders(head, cb), std::move(filter));
  };
  BackgroundResponse jwks;
  jwks.status = 200;
  jwks.body = readData("jwks.json");
  // No set yet: the request waits for the first fetch, then passes.
  JwtCallbacks a;
  auto [status, filter] = request("rs256", a);
  EXPECT_EQ(status, FilterStatus::Stop);
  ASSERT_EQ(a.fetches.size(), 1u);
  EXPECT_EQ(a.fetches[0].upstream, "idp");
  EXPECT_EQ(a.fetches[0].head.target, "/keys/jwks.json");
  EXPECT_EQ(a.fetches[0].head.host, "idp.example");
  a.fetches[0].done(jwks);
  ASSERT_TRUE(a.runWoken());
  EXPECT_EQ(a.continued, 1);
  EXPECT_TRUE(a.replies.empty());
  // An unknown kid: one early refresh, awaited; the set still lacks it: 401.
  JwtCallbacks b;
  auto [status_b, filter_b] = request("unknown_kid", b);
  EXPECT_EQ(status_b, FilterStatus::Stop);
  ASSERT_EQ(b.fetches.size(), 1u);
  b.fetches[0].done(jwks);
  ASSERT_TRUE(b.runWoken());
  ASSERT_EQ(b.replies.size(), 1u);
  EXPECT_EQ(b.replies[0].status, 401);
  EXPECT_EQ(f->source()->fetched(), 2);
  // Another unknown kid within the minute: no fetch, 401 at once.
  JwtCallbacks c;
  auto [status_c, filter_c] = request("unknown_kid", c);
  EXPECT_EQ(status_c, FilterStatus::Stop);
  EXPECT_TRUE(c.fetches.empty());
  ASSERT_EQ(c.replies.size(), 1u);
  EXPECT_EQ(c.replies[0].status, 401);
}

}  // namespace
}  // namespace sluice::filters
