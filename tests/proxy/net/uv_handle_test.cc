#include "proxy/net/uv_handle.h"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <string>

namespace sluice::proxy {
namespace {

// A real loop per test; TearDown runs it until every close callback has run and checks that
// nothing is left open (uv_loop_close fails with UV_EBUSY otherwise).
class UvHandleTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(openHandles(), 0);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  int openHandles() {
    int n = 0;
    uv_walk(
        &loop_, [](uv_handle_t*, void* arg) { ++*static_cast<int*>(arg); }, &n);
    return n;
  }
  uv_loop_t loop_;
};

// Counts its destructions: lives beside a handle in UvHandle's allocation.
struct Counted {
  int* destroyed = nullptr;
  ~Counted() {
    if (destroyed != nullptr) ++*destroyed;
  }
};

TEST(UvCheck, SuccessIsSilentAndFailureIsLogged) {
  testing::internal::CaptureStderr();
  EXPECT_TRUE(uvCheck(0, "zero"));
  EXPECT_TRUE(uvCheck(5, "bytes written"));
  EXPECT_FALSE(uvCheck(UV_EINVAL, "test: uv_timer_start"));
  std::string out = testing::internal::GetCapturedStderr();
  EXPECT_EQ(out, "<3>error: test: uv_timer_start: EINVAL (invalid argument)\n");
}

TEST_F(UvHandleTest, MemoryIsFreedInTheCloseCallbackOnly) {
  int destroyed = 0;
  {
    UvHandle<uv_timer_t, Counted> h;
    ASSERT_EQ(h.open([this](uv_timer_t* t) { return uv_timer_init(&loop_, t); }), 0);
    h.extra().destroyed = &destroyed;
    EXPECT_TRUE(h);
    EXPECT_EQ(openHandles(), 1);
    h.close();
    EXPECT_FALSE(h);
    EXPECT_EQ(h.get(), nullptr);
    h.close();              // idempotent
  }                         // and the destructor of a closed handle does nothing more
  EXPECT_EQ(destroyed, 0);  // libuv still holds the handle until its close callback
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(openHandles(), 0);
}

TEST_F(UvHandleTest, DestructorCloses) {
  int destroyed = 0;
  {
    UvHandle<uv_timer_t, Counted> h;
    ASSERT_EQ(h.open([this](uv_timer_t* t) { return uv_timer_init(&loop_, t); }), 0);
    h.extra().destroyed = &destroyed;
  }
  EXPECT_EQ(destroyed, 0);
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(destroyed, 1);
}

TEST_F(UvHandleTest, FailedInitKeepsNothing) {
  UvHandle<uv_poll_t> h;
  EXPECT_EQ(h.open([this](uv_poll_t* p) { return uv_poll_init(&loop_, p, -1); }), UV_EBADF);
  EXPECT_FALSE(h);
  EXPECT_EQ(openHandles(), 0);
}

TEST_F(UvHandleTest, MoveTransfersOwnership) {
  UvHandle<uv_tcp_t> a;
  ASSERT_EQ(a.open([this](uv_tcp_t* t) { return uv_tcp_init(&loop_, t); }), 0);
  uv_tcp_t* raw = a.get();
  UvHandle<uv_tcp_t> b(std::move(a));
  EXPECT_FALSE(a);
  EXPECT_EQ(b.get(), raw);
  UvHandle<uv_tcp_t> c;
  ASSERT_EQ(c.open([this](uv_tcp_t* t) { return uv_tcp_init(&loop_, t); }), 0);
  c = std::move(b);  // c's own handle is closed
  EXPECT_EQ(c.get(), raw);
  EXPECT_EQ(openHandles(), 2);  // one still closing
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(openHandles(), 1);
}

TEST_F(UvHandleTest, TimerFiresOnceAndRepeats) {
  int once = 0, repeated = 0;
  Timer t1, t2;
  ASSERT_TRUE(t1.init(&loop_, "test once", [&] { ++once; }));
  ASSERT_TRUE(t2.init(&loop_, "test repeat", [&] {
    if (++repeated == 3) t2.stop();
  }));
  ASSERT_TRUE(t1.start(1));
  ASSERT_TRUE(t2.start(1, 1));
  EXPECT_TRUE(t1.active());
  uv_run(&loop_, UV_RUN_DEFAULT);  // returns once no timer is active
  EXPECT_EQ(once, 1);
  EXPECT_EQ(repeated, 3);
  EXPECT_FALSE(t1.active());
  EXPECT_FALSE(t2.active());
}

TEST_F(UvHandleTest, StoppedTimerDoesNotFire) {
  int fired = 0;
  Timer t;
  ASSERT_TRUE(t.init(&loop_, "test", [&] { ++fired; }));
  ASSERT_TRUE(t.start(0));
  t.stop();
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(fired, 0);
}

TEST_F(UvHandleTest, NoCallbackAfterClose) {
  int fired = 0;
  auto t = std::make_unique<Timer>();
  ASSERT_TRUE(t->init(&loop_, "test", [&] { ++fired; }));
  ASSERT_TRUE(t->start(0));  // due at once
  t.reset();                 // closed before the loop could run it
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, 0);
}

TEST_F(UvHandleTest, CallbackMayDestroyItsOwnTimer) {
  // The owner goes away inside the callback; the handle's memory must outlive the call.
  struct Owner {
    Timer timer;
    int* fired;
  };
  int fired = 0;
  auto* o = new Owner{{}, &fired};
  ASSERT_TRUE(o->timer.init(&loop_, "test", [o] {
    ++*o->fired;
    delete o;
  }));
  ASSERT_TRUE(o->timer.start(0, 1));  // repeating: it would fire again if not closed
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, 1);
}

TEST_F(UvHandleTest, CallbackMayRestartItsTimer) {
  int fired = 0;
  Timer t;
  ASSERT_TRUE(t.init(&loop_, "test", [&] {
    if (++fired < 3) {
      EXPECT_TRUE(t.start(0));
    }
  }));
  ASSERT_TRUE(t.start(0));
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, 3);
}

TEST_F(UvHandleTest, UnrefedTimerDoesNotKeepTheLoopAlive) {
  int fired = 0;
  Timer t;
  ASSERT_TRUE(t.init(&loop_, "test", [&] { ++fired; }));
  ASSERT_TRUE(t.start(60'000));
  t.unref();
  EXPECT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);  // returns at once
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(t.active());
}

TEST_F(UvHandleTest, StartingAnUninitialisedTimerFailsLoudly) {
  Timer t;
  testing::internal::CaptureStderr();
  EXPECT_FALSE(t.start(1));
  t.stop();  // nothing to stop: silent
  EXPECT_NE(testing::internal::GetCapturedStderr().find("not initialised"), std::string::npos);
}

TEST_F(UvHandleTest, FailedStartIsLoggedWithTheTimersName) {
  // uv_signal_start refuses signal 0: the failure carries the handle's name.
  Signal s;
  ASSERT_TRUE(s.init(&loop_, "test signal", [](int) {}));
  testing::internal::CaptureStderr();
  EXPECT_FALSE(s.start(0));
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "<3>error: test signal: uv_signal_start: EINVAL (invalid argument)\n");
}

TEST_F(UvHandleTest, SignalIsDelivered) {
  int got = 0;
  Signal s;
  ASSERT_TRUE(s.init(&loop_, "test", [&](int signum) {
    got = signum;
    s.close();  // lets the loop end
  }));
  ASSERT_TRUE(s.start(SIGUSR2));
  Timer guard;  // the test ends even if the signal were lost
  ASSERT_TRUE(guard.init(&loop_, "guard", [&] { s.close(); }));
  ASSERT_TRUE(guard.start(5'000));
  guard.unref();
  ASSERT_EQ(raise(SIGUSR2), 0);
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(got, SIGUSR2);
}

TEST_F(UvHandleTest, PrepareRunsEachIteration) {
  int runs = 0;
  Prepare p;
  Timer t;
  ASSERT_TRUE(p.init(&loop_, "test", [&] { ++runs; }));
  ASSERT_TRUE(p.start());
  p.close();  // closed before any iteration: never runs
  ASSERT_TRUE(p.init(&loop_, "test", [&] { ++runs; }));
  ASSERT_TRUE(p.start());
  ASSERT_TRUE(t.init(&loop_, "test", [&] { p.stop(); }));
  ASSERT_TRUE(t.start(5));
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_GE(runs, 1);
  EXPECT_FALSE(p.active());
}

struct EmbeddingOwner {
  uv_tcp_t tcp;
  int* destroyed;
  ~EmbeddingOwner() { ++*destroyed; }
};

TEST_F(UvHandleTest, CloseDeleteFreesTheOwnerInTheCallback) {
  int destroyed = 0;
  auto* o = new EmbeddingOwner{{}, &destroyed};
  ASSERT_EQ(uv_tcp_init(&loop_, &o->tcp), 0);
  o->tcp.data = o;
  uvCloseDelete<EmbeddingOwner>(&o->tcp);
  uvCloseDelete<EmbeddingOwner>(&o->tcp);  // already closing: no second close
  EXPECT_EQ(destroyed, 0);
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(destroyed, 1);
}

TEST_F(UvHandleTest, CloseOfAnEmbeddedHandleIsIdempotent) {
  uv_timer_t t;
  ASSERT_EQ(uv_timer_init(&loop_, &t), 0);
  uvClose(&t);
  uvClose(&t);
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(openHandles(), 0);
}

}  // namespace
}  // namespace sluice::proxy
