// Tests for proxy/http2/http2_flood_guard.h: each bound trips just past its count within one
// window, and a new window starts afresh.
#include "proxy/http2/http2_flood_guard.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::proxy {
namespace {

TEST(Http2FloodGuard, ResetsOverTheBoundInOneWindow) {
  Http2FloodGuard g;
  for (uint32_t i = 0; i < kMaxResets; ++i) EXPECT_FALSE(g.noteReset(1000 + i));
  EXPECT_TRUE(g.noteReset(2000));
}

TEST(Http2FloodGuard, ANewWindowStartsAfresh) {
  Http2FloodGuard g;
  for (uint32_t i = 0; i < kMaxPings; ++i) EXPECT_FALSE(g.notePing(5));
  EXPECT_FALSE(g.notePing(5 + kFloodWindowMs));  // the next window
  for (uint32_t i = 0; i < kMaxSettings; ++i) EXPECT_FALSE(g.noteSettings(7));
  EXPECT_TRUE(g.noteSettings(8));
  EXPECT_FALSE(g.noteEmptyFrame(9));  // each bound is its own
}

TEST(Http2FloodGuard, ReasonNames) {
  EXPECT_EQ(std::string(http2AbuseName(Http2Abuse::RapidReset)), "rapid_reset");
  EXPECT_EQ(std::string(http2AbuseName(Http2Abuse::ContinuationFlood)), "continuation_flood");
  EXPECT_EQ(std::string(http2AbuseName(Http2Abuse::ZeroWindow)), "zero_window");
  EXPECT_EQ(std::string(http2AbuseName(Http2Abuse::Protocol)), "protocol");
}

}  // namespace
}  // namespace sluice::proxy
