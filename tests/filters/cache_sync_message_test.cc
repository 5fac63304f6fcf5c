// Tests for filters/cache_sync_message.cc: purge messages round-trip and malformed ones are
// refused; instance ids; the reconnect delays stay within their jittered, capped bounds.
#include "filters/cache_sync_message.h"

#include <gtest/gtest.h>

namespace sluice::filters {
namespace {

TEST(PurgeMessage, KeyRoundTrip) {
  PurgeMessage m{"00000000deadbeef", PurgeMessage::Kind::Key, "shop.example/a b?x=1&y=2"};
  std::string text = encodePurge(m);
  EXPECT_EQ(text, "sluice-purge 1 00000000deadbeef key shop.example/a b?x=1&y=2");
  auto back = decodePurge(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, m);
}

TEST(PurgeMessage, PrefixRoundTripIncludingEverything) {
  PurgeMessage m{"0123456789abcdef", PurgeMessage::Kind::Prefix, "shop.example/img/"};
  EXPECT_EQ(decodePurge(encodePurge(m)), m);
  PurgeMessage all{"0123456789abcdef", PurgeMessage::Kind::Prefix, ""};
  EXPECT_EQ(encodePurge(all), "sluice-purge 1 0123456789abcdef prefix ");
  EXPECT_EQ(decodePurge(encodePurge(all)), all);
}

TEST(PurgeMessage, ValueMayHoldAnyBytes) {
  std::string value("h/\n\r\0 x", 7);
  PurgeMessage m{"i", PurgeMessage::Kind::Key, value};
  auto back = decodePurge(encodePurge(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->value, value);
}

TEST(PurgeMessage, MalformedIsRefused) {
  EXPECT_FALSE(decodePurge(""));
  EXPECT_FALSE(decodePurge("hello"));
  EXPECT_FALSE(decodePurge("sluice-purge 2 i key h/p"));   // another version
  EXPECT_FALSE(decodePurge("sluice-purge 1 i drop h/p"));  // unknown kind
  EXPECT_FALSE(decodePurge("sluice-purge 1 i key "));      // empty key
  EXPECT_FALSE(decodePurge("sluice-purge 1 i key"));       // no value separator
  EXPECT_FALSE(decodePurge("sluice-purge 1  key h/p"));    // empty instance
  EXPECT_FALSE(decodePurge("sluice-purgex 1 i key h/p"));  // another magic
  EXPECT_TRUE(decodePurge("sluice-purge 1 i prefix "));    // everything
}

TEST(InstanceId, SixteenHexDigits) {
  EXPECT_EQ(newInstanceId(0), "0000000000000000");
  EXPECT_EQ(newInstanceId(0xdeadbeefULL), "00000000deadbeef");
  EXPECT_EQ(newInstanceId(~0ULL), "ffffffffffffffff");
}

TEST(ReconnectDelay, JitteredAndCapped) {
  // Attempt n: within [ceiling/2, ceiling], ceiling = min(100 ms * 2^n, 2 s).
  for (uint32_t n = 0; n < 40; ++n) {
    uint64_t ceiling = std::min<uint64_t>(100ULL << std::min<uint32_t>(n, 20), 2000);
    for (uint64_t r : {0ULL, 1ULL, 7ULL, 999ULL, 123456789ULL, ~0ULL}) {
      uint64_t d = reconnectDelayMs(n, r);
      EXPECT_GE(d, ceiling / 2) << n << " " << r;
      EXPECT_LE(d, ceiling) << n << " " << r;
    }
  }
  EXPECT_EQ(reconnectDelayMs(0, 0), 50u);
  EXPECT_EQ(reconnectDelayMs(0, 50), 100u);
  EXPECT_EQ(reconnectDelayMs(30, 0), 1000u);
  EXPECT_EQ(reconnectDelayMs(30, 1000), 2000u);
  EXPECT_NE(reconnectDelayMs(5, 1), reconnectDelayMs(5, 2));  // the jitter is used
}

}  // namespace
}  // namespace sluice::filters
