// Tests for config/jwks.cc with the checked-in key set of tests/filters/auth/data.
#include "config/jwks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace sluice::config {
namespace {

using ::testing::HasSubstr;

std::string readData(const std::string& name) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/tests/filters/auth/data/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Jwks, ReadsRsaEcAndOkpKeysAndSkipsOct) {
  std::vector<Jwk> keys;
  auto err = parseJwks(readData("jwks.json"), &keys);
  ASSERT_FALSE(err) << err->message;
  ASSERT_EQ(keys.size(), 4u);
  EXPECT_EQ(keys[0].kid, "rsa1");
  EXPECT_EQ(keys[0].n.size(), 256u);
  EXPECT_EQ(keys[0].e, std::string("\x01\x00\x01", 3));
  EXPECT_EQ(keys[1].crv, "P-256");
  EXPECT_EQ(keys[1].x.size(), 32u);
  EXPECT_EQ(keys[2].y.size(), 48u);
  EXPECT_EQ(keys[3].kty, "OKP");
  EXPECT_EQ(keys[3].x.size(), 32u);
}

std::string errorOf(std::string_view text) {
  std::vector<Jwk> keys;
  auto err = parseJwks(text, &keys);
  return err ? err->message : "";
}

TEST(Jwks, MalformedSetsAreErrorsThatQuoteNoKey) {
  EXPECT_EQ(errorOf("{\"keys\": ["), "is not JSON");
  EXPECT_THAT(errorOf("[]"), HasSubstr("is not a JWK set"));
  EXPECT_THAT(errorOf("{\"keys\": {}}"), HasSubstr("is not a JWK set"));
  EXPECT_THAT(errorOf("{\"keys\": []}"), HasSubstr("holds no RSA"));
  EXPECT_THAT(errorOf("{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}"),
              HasSubstr("holds no RSA"));
  EXPECT_EQ(errorOf("{\"keys\": [{\"kty\": \"RSA\", \"kid\": \"a\", \"e\": \"AQAB\"}]}"),
            "key 0 (kid \"a\") has no \"n\" string");
  EXPECT_EQ(errorOf("{\"keys\": [{\"kty\": \"RSA\", \"n\": \"AQAB\", \"e\": \"AQAB\"}]}"),
            "key 0 is an RSA key under 2048 bits or with an oversized exponent");
  EXPECT_EQ(errorOf("{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": \"a+b\", "
                    "\"y\": \"AQAB\"}]}"),
            "key 0 \"x\" is not base64url");
  EXPECT_EQ(errorOf("{\"keys\": [{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"x\": \"AQAB\"}]}"),
            "key 0 has an Ed25519 \"x\" that is not 32 bytes");
  EXPECT_EQ(errorOf("{\"keys\": [7]}"), "key 0 is not an object");
  EXPECT_EQ(errorOf("{\"keys\": [{\"n\": \"AQAB\"}]}"), "key 0 has no \"kty\"");
}

}  // namespace
}  // namespace sluice::config
