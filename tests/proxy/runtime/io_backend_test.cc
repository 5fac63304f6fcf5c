// Tests for the backend decision (proxy/runtime/io_backend.cc): which backend each `io:` mode
// gets when io_uring is or is not available, and the log line that says why.
#include "proxy/runtime/io_backend.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace sluice::proxy {
namespace {

const UringProbe kAvailable{true, ""};
const UringProbe kRefused{false, "io_uring_queue_init: Operation not permitted"};

TEST(IoBackend, AutoUsesUringWhenAvailable) {
  IoChoice c = chooseIoBackend(config::IoMode::Auto, kAvailable);
  EXPECT_EQ(c.backend, IoBackend::Uring);
  EXPECT_EQ(c.line, "io: uring (auto: io_uring with multishot recv available)");
}

TEST(IoBackend, AutoFallsBackToEpollAndSaysWhy) {
  IoChoice c = chooseIoBackend(config::IoMode::Auto, kRefused);
  EXPECT_EQ(c.backend, IoBackend::Epoll);
  EXPECT_EQ(c.line,
            "io: epoll (auto: io_uring unavailable: io_uring_queue_init: Operation not permitted)");
}

TEST(IoBackend, ConfiguredUringFallsBackWhenRefused) {
  EXPECT_EQ(chooseIoBackend(config::IoMode::Uring, kAvailable).backend, IoBackend::Uring);
  IoChoice c = chooseIoBackend(config::IoMode::Uring, kRefused);
  EXPECT_EQ(c.backend, IoBackend::Epoll);
  EXPECT_NE(c.line.find("io: uring configured, but io_uring is unavailable"), std::string::npos);
}

TEST(IoBackend, EpollIsEpollWhateverTheKernel) {
  EXPECT_EQ(chooseIoBackend(config::IoMode::Epoll, kAvailable).backend, IoBackend::Epoll);
  EXPECT_EQ(chooseIoBackend(config::IoMode::Epoll, kAvailable).line,
            "io: epoll (configured, the default)");
}

// The real probe on this kernel (6.x in CI) succeeds, and the test knob makes it fail.
TEST(IoBackend, ProbeAndItsFailureKnob) {
  UringProbe real = UringLoop::probe();
  EXPECT_TRUE(real.ok) << real.reason;
  ASSERT_EQ(setenv("SLUICE_IO_URING_PROBE_FAIL", "1", 1), 0);
  UringProbe forced = UringLoop::probe();
  unsetenv("SLUICE_IO_URING_PROBE_FAIL");
  EXPECT_FALSE(forced.ok);
  EXPECT_EQ(forced.reason, "io_uring disabled by SLUICE_IO_URING_PROBE_FAIL");
}

}  // namespace
}  // namespace sluice::proxy
