// Tests for proxy/stream/mirror_compare.cc: the body hash does not depend on how the body was
// split into pieces, tells different bodies apart, and the verdict rules of a compared mirror.
#include "proxy/stream/mirror_compare.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::proxy {
namespace {

uint64_t hashWhole(const std::string& s) {
  BodyHash h;
  h.update(s);
  return h.digest();
}

uint64_t hashInPieces(const std::string& s, size_t piece) {
  BodyHash h;
  for (size_t at = 0; at < s.size(); at += piece) h.update(s.substr(at, piece));
  return h.digest();
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + 7) & 0xff);
  return s;
}

TEST(BodyHash, SameBytesSameDigestHoweverSplit) {
  for (size_t n : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 1000u, 65537u}) {
    std::string body = pattern(n);
    uint64_t whole = hashWhole(body);
    for (size_t piece : {1u, 3u, 7u, 8u, 13u, 4096u}) {
      EXPECT_EQ(hashInPieces(body, piece), whole) << "n=" << n << " piece=" << piece;
    }
  }
}

TEST(BodyHash, DifferentBodiesDiffer) {
  std::string body = pattern(1000);
  uint64_t base = hashWhole(body);
  for (size_t at : {0u, 7u, 8u, 500u, 999u}) {  // a flip in a whole word or in the tail
    std::string changed = body;
    changed[at] = static_cast<char>(changed[at] ^ 1);
    EXPECT_NE(hashWhole(changed), base) << "at=" << at;
  }
  EXPECT_NE(hashWhole(body + std::string(1, '\0')), base);  // a trailing zero byte counts
  EXPECT_NE(hashWhole(""), hashWhole(std::string(8, '\0')));
  EXPECT_NE(hashWhole("ab"), hashWhole("ba"));
}

TEST(BodyHash, CountsLength) {
  BodyHash h;
  h.update("hello ");
  h.update("world");
  EXPECT_EQ(h.length(), 11u);
}

TEST(StatusClass, Classes) {
  EXPECT_EQ(statusClass(200), 2);
  EXPECT_EQ(statusClass(204), 2);
  EXPECT_EQ(statusClass(302), 3);
  EXPECT_EQ(statusClass(404), 4);
  EXPECT_EQ(statusClass(599), 5);
  EXPECT_EQ(statusClass(0), 0);
  EXPECT_EQ(statusClass(600), 0);
}

MirrorAnswer answer(int status, uint64_t hash) {
  MirrorAnswer a;
  a.complete = true;
  a.status = status;
  a.body_hash = hash;
  return a;
}

TEST(CompareAnswers, Verdicts) {
  EXPECT_EQ(compareAnswers(answer(200, 1), answer(200, 1)), MirrorResult::Match);
  EXPECT_EQ(compareAnswers(answer(200, 1), answer(201, 1)), MirrorResult::Match);  // same class
  EXPECT_EQ(compareAnswers(answer(200, 1), answer(500, 1)), MirrorResult::StatusMismatch);
  EXPECT_EQ(compareAnswers(answer(404, 1), answer(200, 2)), MirrorResult::StatusMismatch);
  EXPECT_EQ(compareAnswers(answer(200, 1), answer(200, 2)), MirrorResult::BodyMismatch);
  MirrorAnswer failed;  // the mirror gave no whole answer
  EXPECT_EQ(compareAnswers(answer(200, 1), failed), MirrorResult::Error);
  EXPECT_EQ(compareAnswers(failed, failed), MirrorResult::Error);  // the mirror's failure first
  EXPECT_EQ(compareAnswers(failed, answer(200, 1)), MirrorResult::PrimaryIncomplete);
}

TEST(CompareAnswers, LabelValues) {
  EXPECT_EQ(mirrorResultName(MirrorResult::Match), "match");
  EXPECT_EQ(mirrorResultName(MirrorResult::StatusMismatch), "status_mismatch");
  EXPECT_EQ(mirrorResultName(MirrorResult::BodyMismatch), "body_mismatch");
  EXPECT_EQ(mirrorResultName(MirrorResult::Error), "error");
  EXPECT_EQ(mirrorResultName(MirrorResult::Sent), "sent");
  EXPECT_EQ(mirrorResultName(MirrorResult::PrimaryIncomplete), "primary_incomplete");
}

}  // namespace
}  // namespace sluice::proxy
