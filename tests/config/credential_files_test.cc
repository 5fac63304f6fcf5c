// Tests for config/credential_files.cc: the htpasswd and api-key file formats, and that their
// errors say where without quoting a secret.
#include "config/credential_files.h"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

const std::string kBcrypt = "$2y$05$kFczuKsGfsm6s6YeGhgpVOAolnxiTNFdLq1pvdYuHrJBhRk6jXv4C";
const std::string kSha512 = "$6$abcdefgh$xCmU6eXePqd8uT3.jYlk3Fgv/roflqiCi/twHrvHhPTT4qT0rTqu/3Z";
const std::string kHex = "3a5fdbd0d1fcc4e1a1a7d5d6bff9e7c4e1ac5e8e3bd0d9b31b2b0a3f1c6e0a11";

TEST(Htpasswd, ReadsBcryptAndShaCryptSkippingCommentsAndBlankLines) {
  std::vector<HtpasswdEntry> users;
  auto err = parseHtpasswd("# admins\nalice:" + kBcrypt + "\r\n\nbob:" + kSha512 +
                               "\ncarol:$5$salt$abc\ndave:" + std::string("$2b$04$") +
                               std::string(53, 'x') + "\neve:$2a$04$" + std::string(53, 'y'),
                           &users);
  ASSERT_FALSE(err) << err->message;
  ASSERT_EQ(users.size(), 5u);
  EXPECT_EQ(users[0].user, "alice");
  EXPECT_EQ(users[0].hash, kBcrypt);  // the \r is not part of it
  EXPECT_EQ(users[1].user, "bob");
  EXPECT_EQ(users[2].hash, "$5$salt$abc");
}

TEST(Htpasswd, RefusesOtherSchemesWithoutQuotingTheHash) {
  std::vector<HtpasswdEntry> users;
  auto err = parseHtpasswd("alice:" + kBcrypt + "\nbob:$apr1$salt$md5hashvalue\n", &users);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->line, 2);
  EXPECT_EQ(err->column, 5);
  EXPECT_NE(err->message.find("bob"), std::string::npos);
  EXPECT_EQ(err->message.find("md5hashvalue"), std::string::npos);
  err = parseHtpasswd("{SHA}plain", &users);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->message, "not a user:hash line");
}

TEST(Htpasswd, RefusesCutHashesAndIgnoresTrailingBlanks) {
  std::vector<HtpasswdEntry> users;
  auto err = parseHtpasswd("alice:" + kBcrypt.substr(0, 40) + "\n", &users);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("cut or malformed"), std::string::npos);
  EXPECT_TRUE(parseHtpasswd("bob:$6$saltonly\n", &users));
  EXPECT_FALSE(parseHtpasswd("bob:$5$rounds=5000$salt$hash\n", &users));
  EXPECT_TRUE(parseHtpasswd("bob:$5$rounds=5000$salt\n", &users));
  ASSERT_FALSE(parseHtpasswd("alice:" + kBcrypt + " \t\n", &users));
  EXPECT_EQ(users[0].hash, kBcrypt);
}

TEST(Htpasswd, RefusesEmptyAndRepeatedUsers) {
  std::vector<HtpasswdEntry> users;
  auto err = parseHtpasswd(":" + kBcrypt, &users);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->line, 1);
  err = parseHtpasswd("a:" + kBcrypt + "\na:" + kSha512, &users);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->line, 2);
  EXPECT_NE(err->message.find("twice"), std::string::npos);
}

TEST(ApiKeys, ReadsAListOfConsumersAndLowerCasesTheHex) {
  std::vector<ApiKeyEntry> keys;
  std::string upper = kHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  auto err = parseApiKeys("- {consumer: acme, key_sha256: " + upper +
                              "}\n- consumer: beta\n  key_sha256: " + std::string(64, '0') + "\n",
                          &keys);
  ASSERT_FALSE(err) << err->message;
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].consumer, "acme");
  EXPECT_EQ(keys[0].key_sha256, kHex);
  EXPECT_EQ(keys[1].consumer, "beta");
  EXPECT_FALSE(parseApiKeys("", &keys));  // an empty file: no keys
  EXPECT_TRUE(keys.empty());
}

TEST(ApiKeys, ErrorsPointIntoTheFile) {
  std::vector<ApiKeyEntry> keys;
  auto err = parseApiKeys(
      "- {consumer: a, key_sha256: " + kHex + "}\n- {consumer: b, key_sha256: xyz}\n", &keys);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->line, 2);
  EXPECT_EQ(err->column, 29);
  EXPECT_EQ(err->message.find("xyz"), std::string::npos);
  err = parseApiKeys("- {consumer: a}\n", &keys);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("key_sha256"), std::string::npos);
  err = parseApiKeys(
      "- {consumer: a, key_sha256: " + kHex + "}\n- {consumer: b, key_sha256: " + kHex + "}\n",
      &keys);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->line, 2);
  EXPECT_NE(err->message.find("twice"), std::string::npos);
  err = parseApiKeys("consumer: a\n", &keys);
  ASSERT_TRUE(err);
  err = parseApiKeys("- [unclosed\n", &keys);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("YAML syntax error"), std::string::npos);
  err = parseApiKeys("- {consumer: a, key_sha256: " + kHex + ", extra: 1}\n", &keys);
  ASSERT_TRUE(err);
}

}  // namespace
}  // namespace sluice::config
