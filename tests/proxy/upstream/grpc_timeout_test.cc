// Tests for proxy/upstream/grpc_timeout.h: every unit, rounding up, and malformed values.
#include "proxy/upstream/grpc_timeout.h"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

using std::chrono::milliseconds;

TEST(GrpcTimeout, Units) {
  EXPECT_EQ(parseGrpcTimeout("2H"), milliseconds(7'200'000));
  EXPECT_EQ(parseGrpcTimeout("3M"), milliseconds(180'000));
  EXPECT_EQ(parseGrpcTimeout("2S"), milliseconds(2000));
  EXPECT_EQ(parseGrpcTimeout("500m"), milliseconds(500));
  EXPECT_EQ(parseGrpcTimeout("1500u"), milliseconds(2));
  EXPECT_EQ(parseGrpcTimeout("1n"), milliseconds(1));
  EXPECT_EQ(parseGrpcTimeout("99999999S"), milliseconds(99'999'999'000));
}

TEST(GrpcTimeout, ZeroIsDueAtOnce) {
  EXPECT_EQ(parseGrpcTimeout("0m"), milliseconds(1));
}

TEST(GrpcTimeout, MalformedIsIgnored) {
  for (const char* v : {"", "5", "S", "5s", "5 S", "-5S", "123456789S", "1.5S", "5x"}) {
    EXPECT_EQ(parseGrpcTimeout(v), std::nullopt) << v;
  }
}

}  // namespace
}  // namespace sluice::proxy
