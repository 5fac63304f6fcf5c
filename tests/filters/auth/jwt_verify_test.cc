// Tests for filters/auth/jwt_verify.cc and jwt_token.cc with the fixed vectors of data/ (made by
// data/make_vectors.py with python3-jwt and python3-cryptography).
#include "filters/auth/jwt_verify.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "config/jwks.h"
#include "filters/auth/jwt_token.h"

namespace sluice::filters::auth {
namespace {

std::string readData(const std::string& name) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/tests/filters/auth/data/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, std::string> tokens() {
  std::map<std::string, std::string> out;
  std::istringstream in(readData("tokens.txt"));
  std::string name, token;
  while (in >> name >> token) out[name] = token;
  return out;
}

class JwtVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<config::Jwk> jwks;
    ASSERT_FALSE(config::parseJwks(readData("jwks.json"), &jwks));
    for (const auto& j : jwks) {
      std::string err;
      auto k = VerifyKey::fromJwk(j, &err);
      ASSERT_TRUE(k) << err;
      keys_[j.kid] = k;
    }
    std::string secret = readData("hs_secret.txt");
    secret.pop_back();
    keys_["hs"] = VerifyKey::fromSecret(secret);
  }
  // Whether token `name` verifies with key `kid`.
  bool verifies(const std::string& name, const std::string& kid) {
    std::string why;
    auto t = parseToken(tokens_.at(name), &why);
    if (!t) return false;
    auto alg = parseJwsAlg(t->alg);
    return alg && keys_.at(kid)->verify(*alg, t->signing_input, t->signature);
  }
  std::map<std::string, std::shared_ptr<const VerifyKey>> keys_;
  std::map<std::string, std::string> tokens_ = tokens();
};

TEST_F(JwtVerifyTest, EveryAlgorithmVerifiesWithItsKey) {
  EXPECT_TRUE(verifies("rs256", "rsa1"));
  EXPECT_TRUE(verifies("rs384", "rsa1"));
  EXPECT_TRUE(verifies("rs512", "rsa1"));
  EXPECT_TRUE(verifies("ps256", "rsa1"));
  EXPECT_TRUE(verifies("es256", "ec256"));
  EXPECT_TRUE(verifies("es384", "ec384"));
  EXPECT_TRUE(verifies("eddsa", "ed1"));
  EXPECT_TRUE(verifies("hs256", "hs"));
  EXPECT_TRUE(verifies("hs384", "hs"));
  EXPECT_TRUE(verifies("hs512", "hs"));
}

TEST_F(JwtVerifyTest, AKeyServesOnlyItsOwnFamily) {
  EXPECT_FALSE(verifies("es256", "rsa1"));
  EXPECT_FALSE(verifies("rs256", "ec256"));
  EXPECT_FALSE(verifies("es384", "ec256"));
  EXPECT_FALSE(verifies("rs256", "hs"));
  // Algorithm confusion: HS256 keyed with the RSA public key's bytes; the RSA key refuses HS256.
  EXPECT_FALSE(keys_["rsa1"]->fits(JwsAlg::HS256));
  EXPECT_FALSE(verifies("hs256_rsa_pem", "rsa1"));
  EXPECT_FALSE(verifies("hs256_rsa_pem", "hs"));
}

TEST_F(JwtVerifyTest, TamperedOrForeignSignaturesFail) {
  EXPECT_FALSE(verifies("tampered_payload", "rsa1"));
  EXPECT_FALSE(verifies("tampered_signature", "rsa1"));
  EXPECT_FALSE(verifies("tampered_es256", "ec256"));
  EXPECT_FALSE(verifies("other_key", "rsa1"));
}

TEST_F(JwtVerifyTest, NoneIsNotAnAlgorithm) {
  EXPECT_FALSE(parseJwsAlg("none"));
  EXPECT_FALSE(parseJwsAlg("hs256"));
  std::string why;
  auto t = parseToken(tokens_.at("alg_none"), &why);
  ASSERT_TRUE(t);  // well-formed; refused by its algorithm (filters/jwt.cc)
  EXPECT_EQ(t->alg, "none");
  EXPECT_TRUE(t->signature.empty());
}

TEST_F(JwtVerifyTest, MalformedTokensAreRefusedWithAReason) {
  std::string why;
  EXPECT_FALSE(parseToken(tokens_.at("bad_base64"), &why));
  EXPECT_EQ(why, "malformed token");
  EXPECT_FALSE(parseToken(tokens_.at("bad_json"), &why));
  EXPECT_FALSE(parseToken(tokens_.at("two_segments"), &why));
  EXPECT_FALSE(parseToken("a.b.c.d", &why));
  EXPECT_FALSE(parseToken("", &why));
  EXPECT_FALSE(parseToken(tokens_.at("oversized"), &why));
  EXPECT_EQ(why, "token too large");
}

TEST_F(JwtVerifyTest, ClaimsAreCheckedWithLeeway) {
  config::JwtFilter cfg;
  cfg.issuer = "https://idp.example/";
  cfg.audiences = {"api"};
  const int64_t now = 1800000000;
  auto check = [&](const std::string& name) {
    std::string why;
    auto t = parseToken(tokens_.at(name), &why);
    EXPECT_TRUE(t) << name;
    auto bad = checkClaims(*t, cfg, now);
    return bad ? *bad : std::string("ok");
  };
  EXPECT_EQ(check("rs256"), "ok");
  EXPECT_EQ(check("aud_array"), "ok");
  EXPECT_EQ(check("expired"), "token expired");        // exp = now - 1000
  EXPECT_EQ(check("not_yet"), "token not yet valid");  // nbf = now + 1000
  EXPECT_EQ(check("wrong_iss"), "issuer not accepted");
  EXPECT_EQ(check("wrong_aud"), "audience not accepted");
  cfg.leeway = std::chrono::seconds(1001);
  EXPECT_EQ(check("expired"), "ok");
  EXPECT_EQ(check("not_yet"), "ok");
  std::string why;
  auto t = parseToken(tokens_.at("rs256"), &why);
  ASSERT_TRUE(t->claims);
  ASSERT_TRUE(t->claims->find("tenant"));
  EXPECT_EQ(*t->claims->find("tenant"), "t1");
  EXPECT_EQ(*t->claims->find("exp"), "4102444800");
}

TEST(JwtToken, TypesAreCheckedNotAssumed) {
  // {"alg":"RS256"} . {"exp":"soon"} . sig: a string exp is malformed, not an exception.
  std::string why;
  EXPECT_FALSE(parseToken("eyJhbGciOiJSUzI1NiJ9.eyJleHAiOiJzb29uIn0.AAAA", &why));
  // {"alg":7} . {} . sig
  EXPECT_FALSE(parseToken("eyJhbGciOjd9.e30.AAAA", &why));
  // {"alg":"RS256"} . {"aud":[1]} . sig
  EXPECT_FALSE(parseToken("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsxXX0.AAAA", &why));
  // {"alg":"RS256"} . [] . sig: the payload must be an object
  EXPECT_FALSE(parseToken("eyJhbGciOiJSUzI1NiJ9.W10.AAAA", &why));
}

}  // namespace
}  // namespace sluice::filters::auth
