// Tests for filters/redis_uv.h with a real libuv loop and loopback sockets (no Redis needed):
// a refused connect and a connection reset by the peer reach hiredis's callbacks at once. The
// adapter of Debian's hiredis 0.14 dropped both, and these tests hang until their timer there.
#include "filters/redis_uv.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sluice::filters {
namespace {

struct Seen {
  int connect_status = 1;  // 1: not called
  int disconnect_status = 1;
  bool timed_out = false;
};

// A loopback TCP socket bound to a port the OS picks; listening if `listen_too`.
int boundSocket(int& port, bool listen_too) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  port = ntohs(a.sin_port);
  if (listen_too) {
    EXPECT_EQ(::listen(fd, 8), 0);
  }
  return fd;
}

// Runs `loop` until `done()` or 2 s.
template <class Done>
void runUntil(uv_loop_t* loop, Seen& seen, Done done) {
  uv_timer_t timer;
  ASSERT_EQ(uv_timer_init(loop, &timer), 0);
  timer.data = &seen;
  ASSERT_EQ(
      uv_timer_start(
          &timer, [](uv_timer_t* t) { static_cast<Seen*>(t->data)->timed_out = true; }, 2000, 0),
      0);
  while (!done() && !seen.timed_out) uv_run(loop, UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  uv_run(loop, UV_RUN_DEFAULT);
}

redisAsyncContext* connectTo(uv_loop_t* loop, int port, Seen& seen) {
  redisAsyncContext* ac = redisAsyncConnect("127.0.0.1", port);
  EXPECT_NE(ac, nullptr);
  EXPECT_EQ(ac->err, 0);
  ac->data = &seen;
  EXPECT_EQ(attachRedisToLoop(ac, loop), REDIS_OK);
  redisAsyncSetConnectCallback(ac, [](const redisAsyncContext* c, int status) {
    static_cast<Seen*>(c->data)->connect_status = status;
  });
  redisAsyncSetDisconnectCallback(ac, [](const redisAsyncContext* c, int status) {
    static_cast<Seen*>(c->data)->disconnect_status = status;
  });
  return ac;
}

TEST(RedisUv, RefusedConnectIsReported) {
  int port = 0;
  int fd = boundSocket(port, false);  // bound, not listening: connects are refused
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  Seen seen;
  redisAsyncContext* ac = connectTo(&loop, port, seen);
  if (ac != nullptr && ac->err == 0) {
    runUntil(&loop, seen, [&] { return seen.connect_status != 1; });
    EXPECT_FALSE(seen.timed_out);
    EXPECT_EQ(seen.connect_status, REDIS_ERR);  // hiredis freed the context after this
  }
  ::close(fd);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(RedisUv, ResetConnectionIsReported) {
  int port = 0;
  int lfd = boundSocket(port, true);
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  Seen seen;
  redisAsyncContext* ac = connectTo(&loop, port, seen);
  ASSERT_NE(ac, nullptr);
  // A command in flight, so that hiredis reads; the server resets the connection (linger 0).
  ASSERT_EQ(redisAsyncCommand(ac, nullptr, nullptr, "PING"), REDIS_OK);
  runUntil(&loop, seen, [&] { return seen.connect_status != 1; });
  ASSERT_EQ(seen.connect_status, REDIS_OK);
  int cfd = ::accept(lfd, nullptr, nullptr);
  ASSERT_GE(cfd, 0);
  linger lg{1, 0};
  ASSERT_EQ(::setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  ::close(cfd);
  runUntil(&loop, seen, [&] { return seen.disconnect_status != 1; });
  EXPECT_FALSE(seen.timed_out);
  EXPECT_EQ(seen.disconnect_status, REDIS_ERR);
  ::close(lfd);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace sluice::filters
