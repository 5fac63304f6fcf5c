// Tests for proxy/runtime/worker_services.h, the worker side of filters::WorkerServices, on a real
// libuv loop: timers fire, stop and restart as filters::ServiceTimer promises, never keep the loop
// alive, may destroy themselves from their own callback and leave nothing open; the clock is the
// loop's; host lookups answer on the loop with a numeric address.
#include "proxy/runtime/worker_services.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "proxy/net/uv_handle.h"

namespace sluice::proxy {
namespace {

class LoopServicesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    guard_.close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    int open = 0;
    uv_walk(
        &loop_, [](uv_handle_t*, void* arg) { ++*static_cast<int*>(arg); }, &open);
    EXPECT_EQ(open, 0);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // Runs the loop until `done()` or `limit_ms` of loop time. The service timers do not keep the
  // loop alive, so a referenced guard timer does (and bounds the test).
  template <class Done>
  bool runUntil(Done done, uint64_t limit_ms = 2000) {
    if (!guard_) {
      EXPECT_TRUE(guard_.init(&loop_, "test guard", [this] { expired_ = true; }));
    }
    expired_ = false;
    EXPECT_TRUE(guard_.start(limit_ms));
    while (!done() && !expired_) uv_run(&loop_, UV_RUN_ONCE);
    guard_.stop();
    return !expired_;
  }

  uv_loop_t loop_;
  Timer guard_;
  bool expired_ = false;
  LoopServices services_{&loop_};
};

TEST_F(LoopServicesTest, OneShotTimerFiresOnceAfterItsTimeout) {
  int fired = 0;
  auto timer = services_.makeTimer("test timer", [&fired] { ++fired; });
  ASSERT_NE(timer, nullptr);
  EXPECT_FALSE(timer->active());
  int64_t started = services_.nowMs();
  ASSERT_TRUE(timer->start(20));
  EXPECT_TRUE(timer->active());
  ASSERT_TRUE(runUntil([&] { return fired > 0; }));
  EXPECT_EQ(fired, 1);
  EXPECT_GE(services_.nowMs() - started, 20);
  EXPECT_FALSE(timer->active());
  runUntil([] { return false; }, 50);  // nothing more
  EXPECT_EQ(fired, 1);
}

TEST_F(LoopServicesTest, RepeatingTimerRunsUntilStopped) {
  int fired = 0;
  std::unique_ptr<filters::ServiceTimer> timer;
  timer = services_.makeTimer("test timer", [&] {
    if (++fired == 3) timer->stop();  // from its own callback
  });
  ASSERT_TRUE(timer->start(5, 5));
  ASSERT_TRUE(runUntil([&] { return fired >= 3; }));
  EXPECT_FALSE(timer->active());
  runUntil([] { return false; }, 40);
  EXPECT_EQ(fired, 3);
}

TEST_F(LoopServicesTest, StoppedOrRestartedTimerDoesNotFireEarly) {
  int fired = 0;
  auto timer = services_.makeTimer("test timer", [&fired] { ++fired; });
  ASSERT_TRUE(timer->start(10));
  timer->stop();
  timer->stop();  // idempotent
  EXPECT_FALSE(timer->active());
  runUntil([] { return false; }, 40);
  EXPECT_EQ(fired, 0);
  ASSERT_TRUE(timer->start(10));
  ASSERT_TRUE(timer->start(1000));  // re-armed: the first deadline is gone
  runUntil([] { return false; }, 60);
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(timer->active());
}

TEST_F(LoopServicesTest, TimerDoesNotKeepTheLoopAlive) {
  int fired = 0;
  auto timer = services_.makeTimer("test timer", [&fired] { ++fired; });
  ASSERT_TRUE(timer->start(10000));
  // With only the service timer active, the loop has nothing to wait for and returns at once.
  EXPECT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);
  EXPECT_EQ(fired, 0);
}

TEST_F(LoopServicesTest, TimerMayDestroyItselfAndIsFreedByTheLoop) {
  bool fired = false;
  std::unique_ptr<filters::ServiceTimer> timer;
  timer = services_.makeTimer("test timer", [&] {
    fired = true;
    timer.reset();  // closes the handle from inside its own callback
  });
  ASSERT_TRUE(timer->start(5));
  ASSERT_TRUE(runUntil([&] { return fired; }));
  EXPECT_EQ(timer, nullptr);
  // TearDown checks that nothing is left open, and ASan that nothing leaked or was used freed.
}

TEST_F(LoopServicesTest, DestroyedTimerNeverFires) {
  int fired = 0;
  auto timer = services_.makeTimer("test timer", [&fired] { ++fired; });
  ASSERT_TRUE(timer->start(5));
  timer.reset();
  runUntil([] { return false; }, 40);
  EXPECT_EQ(fired, 0);
}

TEST_F(LoopServicesTest, ClockIsTheLoops) {
  uv_update_time(&loop_);
  EXPECT_EQ(services_.nowMs(), static_cast<int64_t>(uv_now(&loop_)));
}

TEST_F(LoopServicesTest, LookupAnswersOnTheLoopWithANumericAddress) {
  bool answered = false;
  bool found = false;
  std::string ip;
  services_.lookupHost("127.0.0.1", [&](bool ok, const std::string& addr) {
    answered = true;
    found = ok;
    ip = addr;
  });
  EXPECT_FALSE(answered);  // not from inside lookupHost: the lookup started
  ASSERT_TRUE(runUntil([&] { return answered; }));
  EXPECT_TRUE(found);
  EXPECT_EQ(ip, "127.0.0.1");
}

}  // namespace
}  // namespace sluice::proxy
