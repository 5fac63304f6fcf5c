#include "balancer/hash.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace sluice::balancer {
namespace {

TEST(HashKey, MatchesXxh64ReferenceVectors) {
  EXPECT_EQ(hashKey(""), 0xEF46DB3751D8E999ull);
  EXPECT_EQ(hashKey("a"), 0xD24EC4F1A98C6E5Bull);
  EXPECT_EQ(hashKey("abc"), 0x44BC2CF5AD770999ull);
}

TEST(HashKey, EveryLengthPathDiffers) {
  // Lengths 0..70 cover the 1-, 4-, 8- and 32-byte stripes; prefixes of one string must differ.
  std::string s = "The quick brown fox jumps over the lazy dog, then naps by the river bank!";
  std::set<uint64_t> seen;
  for (size_t n = 0; n <= 70; ++n) seen.insert(hashKey(std::string_view(s).substr(0, n)));
  EXPECT_EQ(seen.size(), 71u);
}

TEST(HashKey, OneBitFlipsAboutHalfTheOutput) {
  std::string a = "/api/v1/users/12345";
  std::string b = a;
  b[5] ^= 1;
  int bits = __builtin_popcountll(hashKey(a) ^ hashKey(b));
  EXPECT_GT(bits, 16);
  EXPECT_LT(bits, 48);
}

TEST(SplitMix64, SameSeedSameSequence) {
  SplitMix64 a(42), b(42), c(43);
  for (int i = 0; i < 5; ++i) {
    uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
  }
}

TEST(ScaleToRange, CoversTheRange) {
  EXPECT_EQ(scaleToRange(0, 10), 0u);
  EXPECT_EQ(scaleToRange(0xFFFFFFFFu, 10), 9u);
  EXPECT_EQ(scaleToRange(0x80000000u, 10), 5u);
}

}  // namespace
}  // namespace sluice::balancer
