#include "filters/basic_auth.h"

#include <gtest/gtest.h>

#include "tests/filters/auth_callbacks.h"

namespace sluice::filters {
namespace {
using testing::AuthCallbacks;

// Made with `htpasswd -B -C 5` and `openssl passwd -6 / -5`.
const config::HtpasswdEntry kAlice{
    "alice", "$2y$05$kFczuKsGfsm6s6YeGhgpVOAolnxiTNFdLq1pvdYuHrJBhRk6jXv4C"};  // wonderland
const config::HtpasswdEntry kBob{
    "bob",
    "$6$abcdefgh$xCmU6eXePqd8uT3.jYlk3Fgv/roflqiCi/twHrvHhPTT4qT0rTqu/3ZTFEf6uqFcl7eKyk81ngZEadU/"
    "ehEy51"};  // secret6
const config::HtpasswdEntry kCarol{"carol",
                                   "$5$abcdefgh$AVKsPBNtNFkXXKvvkrPMobKUZbm0i7P2XfVbwGW9BS/"};

std::string basic(std::string_view user_pass) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out = "Basic ";
  size_t i = 0;
  for (; i + 2 < user_pass.size(); i += 3) {
    uint32_t n = (uint8_t(user_pass[i]) << 16) | (uint8_t(user_pass[i + 1]) << 8) |
                 uint8_t(user_pass[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(k[(n >> s) & 63]);
  }
  if (size_t rest = user_pass.size() - i; rest > 0) {
    uint32_t n = uint8_t(user_pass[i]) << 16;
    if (rest == 2) n |= uint8_t(user_pass[i + 1]) << 8;
    out.push_back(k[(n >> 18) & 63]);
    out.push_back(k[(n >> 12) & 63]);
    out += rest == 2 ? std::string(1, k[(n >> 6) & 63]) + "=" : "==";
  }
  return out;
}

class BasicAuthTest : public ::testing::Test {
 protected:
  BasicAuthTest() : verifier_(1, 4, 100) {
    config::BasicAuthFilter cfg;
    cfg.realm = "admin";
    cfg.users = {kAlice, kBob, kCarol};
    factory_ = std::make_unique<BasicAuthFactory>(
        cfg, AuthCounters::make(registry_, "r", "basic_auth"), verifier_);
  }

  // Runs one request with `authorization` (none when empty) to its answer: 0 when it went on
  // to the upstream, else the status of the reply.
  int run(const std::string& authorization, AuthCallbacks& cb, bool* waited = nullptr) {
    auto f = factory_->create();
    base::RequestHead head;
    if (!authorization.empty()) head.headers.add("authorization", authorization);
    FilterStatus s = f->onRequestHeaders(head, cb);
    if (waited) *waited = s == FilterStatus::Stop && cb.replies.empty();
    if (s == FilterStatus::Stop && cb.replies.empty()) {
      EXPECT_TRUE(cb.runWoken());
    }
    if (!cb.replies.empty()) return cb.replies.back().status;
    EXPECT_TRUE(s == FilterStatus::Continue || cb.continued == 1);
    return 0;
  }

  base::MetricsRegistry registry_;
  PasswordVerifier verifier_;
  std::unique_ptr<BasicAuthFactory> factory_;
};

TEST(BasicCredentials, Parses) {
  std::string user, password;
  EXPECT_TRUE(parseBasicCredentials(basic("alice:won:der"), user, password));
  EXPECT_EQ(user, "alice");
  EXPECT_EQ(password, "won:der");
  EXPECT_TRUE(parseBasicCredentials("bAsIc   " + basic("a:").substr(6), user, password));
  EXPECT_EQ(password, "");
  EXPECT_FALSE(parseBasicCredentials("Bearer abc", user, password));
  EXPECT_FALSE(parseBasicCredentials("Basic !!!!", user, password));
  EXPECT_FALSE(parseBasicCredentials("Basic YWxpY2U=", user, password));  // "alice": no colon
  EXPECT_FALSE(parseBasicCredentials("Basic YW=x", user, password));
  EXPECT_FALSE(parseBasicCredentials("Basic ", user, password));
}

TEST_F(BasicAuthTest, MissingCredentialsGet401WithTheChallenge) {
  AuthCallbacks cb;
  EXPECT_EQ(run("", cb), 401);
  const std::string* challenge = cb.replies[0].headers.get("www-authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_EQ(*challenge, "Basic realm=\"admin\"");
  AuthCallbacks garbled;
  EXPECT_EQ(run("Basic %%%", garbled), 401);
}

TEST_F(BasicAuthTest, RightPasswordsPassAndSetTheConsumer) {
  for (auto [pair, user] : {std::pair{"alice:wonderland", "alice"},
                            {"bob:secret6", "bob"},
                            {"carol:secret5", "carol"}}) {
    AuthCallbacks cb;
    bool waited = false;
    EXPECT_EQ(run(basic(pair), cb, &waited), 0) << pair;
    EXPECT_TRUE(waited) << "checked off the caller's thread: " << pair;
    EXPECT_EQ(cb.continued, 1);
    EXPECT_EQ(cb.consumer, user);
  }
  EXPECT_EQ(registry_.render().find("secret"), std::string::npos);
}

TEST_F(BasicAuthTest, WrongPasswordAndUnknownUserGet401) {
  AuthCallbacks wrong;
  EXPECT_EQ(run(basic("alice:wonderlanD"), wrong), 401);
  EXPECT_EQ(wrong.consumer, "");
  ASSERT_NE(wrong.replies[0].headers.get("www-authenticate"), nullptr);
  AuthCallbacks unknown;
  bool waited = false;
  // Checked like a known user (against another entry's hash), then refused.
  EXPECT_EQ(run(basic("mallory:wonderland"), unknown, &waited), 401);
  EXPECT_TRUE(waited);
  EXPECT_EQ(verifier_.cachedCount(), 0u);  // failures are never cached
}

TEST_F(BasicAuthTest, ASuccessIsCachedAndTheRepeatNeverWaits) {
  AuthCallbacks first;
  bool waited = false;
  EXPECT_EQ(run(basic("alice:wonderland"), first, &waited), 0);
  EXPECT_TRUE(waited);
  EXPECT_EQ(verifier_.cachedCount(), 1u);
  AuthCallbacks again;
  EXPECT_EQ(run(basic("alice:wonderland"), again, &waited), 0);
  EXPECT_FALSE(waited);
  EXPECT_EQ(again.consumer, "alice");
  AuthCallbacks other;  // a different password is not the cached one
  EXPECT_EQ(run(basic("alice:wonderlan"), other, &waited), 401);
  EXPECT_TRUE(waited);
}

TEST(PasswordVerifier, VerifiesAndCachesOnlyMatches) {
  using R = PasswordVerifier::Result;
  EXPECT_EQ(PasswordVerifier::verify("wonderland", kAlice.hash), R::Match);
  EXPECT_EQ(PasswordVerifier::verify("wonderlan", kAlice.hash), R::Mismatch);
  EXPECT_EQ(PasswordVerifier::verify("secret6", kBob.hash), R::Match);
  EXPECT_EQ(PasswordVerifier::verify("secret5", kCarol.hash), R::Match);
  EXPECT_EQ(PasswordVerifier::verify("x", "$2y$05$short"), R::Error);
}

// Submits and waits for every queued check to finish; returns how many were queued.
int submitAll(PasswordVerifier& v, const std::vector<config::HtpasswdEntry>& entries,
              const std::vector<std::string>& passwords) {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  int queued = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    queued +=
        v.submit(entries[i].user, passwords[i], entries[i].hash, [&](PasswordVerifier::Result) {
          std::lock_guard lock(mu);
          ++done;
          cv.notify_all();
        });
  }
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done == queued; }));
  return queued;
}

TEST(PasswordVerifier, AFullQueueRefuses) {
  PasswordVerifier v(1, 2, 100);
  std::vector<config::HtpasswdEntry> entries(20, kAlice);
  std::vector<std::string> passwords(20, "wrong");
  int queued = submitAll(v, entries, passwords);
  EXPECT_GE(queued, 2);
  EXPECT_LT(queued, 20);  // at most 2 wait; one more may be running
  EXPECT_EQ(v.cachedCount(), 0u);
}

TEST(PasswordVerifier, TheCacheIsBoundedOldestFirst) {
  PasswordVerifier v(1, 10, 2);
  ASSERT_EQ(submitAll(v, {kAlice, kBob, kCarol}, {"wonderland", "secret6", "secret5"}), 3);
  EXPECT_EQ(v.cachedCount(), 2u);
  EXPECT_FALSE(v.cached("alice", "wonderland", kAlice.hash));
  EXPECT_TRUE(v.cached("bob", "secret6", kBob.hash));
  EXPECT_TRUE(v.cached("carol", "secret5", kCarol.hash));
  EXPECT_FALSE(v.cached("carol", "secret5", kBob.hash));  // the stored hash is part of the key
}

}  // namespace
}  // namespace sluice::filters
