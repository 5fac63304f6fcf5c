// Tests for the io_uring socket backend (proxy/net/uring_loop.cc, uring_socket.cc) on a real
// ring and a socket pair: bytes arrive in order through a tiny provided-buffer ring (so it runs
// dry and the recv is re-armed) and every buffer goes back; a stopped socket keeps what was in
// flight and delivers it in order when reading starts again; a send the peer does not take
// counts as queued (backpressure) until it drains; EOF, and close callbacks that never run
// synchronously; a shutdown goes after the bytes.
#include "proxy/net/uring_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>

#include "proxy/net/uring_loop.h"

namespace sluice::proxy {
namespace {

constexpr unsigned kBuffers = 4;
constexpr unsigned kBufferSize = 1024;

struct Owner : WriteSink {
  UringSocket sock;
  std::string got;
  ssize_t status = 0;
  int write_done = 0;
  int write_status = 0;
  int closed = 0;
  void onWriteDone(int s) override {
    ++write_done;
    write_status = s;
  }
  static void onRead(void* self, ssize_t n, const char* d) {
    auto* o = static_cast<Owner*>(self);
    if (n > 0) {
      o->got.append(d, static_cast<size_t>(n));
    } else {
      o->status = n;
    }
  }
  static void onClosed(void* self) { ++static_cast<Owner*>(self)->closed; }
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 977) % 26);
  return s;
}

class UringSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    std::string error;
    ASSERT_TRUE(ring_.init(&loop_, error, kBuffers, kBufferSize)) << error;
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_), 0);
    owner_.sock.init(&ring_, &owner_);
    ASSERT_EQ(owner_.sock.open(fds_[0]), 0);
  }
  void TearDown() override {
    owner_.sock.close(Owner::onClosed);
    pump([&] { return owner_.closed == 1; });
    EXPECT_EQ(owner_.closed, 1);
    if (fds_[1] >= 0) ::close(fds_[1]);
    ring_.close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  // Runs loop iterations until `done` or two seconds passed.
  bool pump(const std::function<bool()>& done, const std::function<void()>& each = {}) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      uv_run(&loop_, UV_RUN_NOWAIT);
      if (each) each();
    }
    return true;
  }
  void peerWrite(const std::string& s) {
    ASSERT_EQ(::write(fds_[1], s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }

  uv_loop_t loop_;
  UringLoop ring_;
  int fds_[2] = {-1, -1};
  Owner owner_;
};

TEST_F(UringSocketTest, BytesArriveInOrderAndEveryBufferGoesBack) {
  ASSERT_EQ(owner_.sock.readStart(Owner::onRead), 0);
  std::string data = pattern(40 * kBufferSize + 123);  // ten times the ring: it runs dry
  peerWrite(data);
  ASSERT_TRUE(pump([&] { return owner_.got.size() >= data.size(); }));
  EXPECT_EQ(owner_.got, data);
  EXPECT_EQ(ring_.buffersFree(), kBuffers);
}

TEST_F(UringSocketTest, StoppedSocketKeepsBytesAndDeliversThemInOrder) {
  ASSERT_EQ(owner_.sock.readStart(Owner::onRead), 0);
  peerWrite("abc");
  ASSERT_TRUE(pump([&] { return owner_.got == "abc"; }));
  ASSERT_EQ(owner_.sock.readStop(), 0);
  peerWrite("defg");
  pump([] { return false; }, [] { ::usleep(1000); });  // two seconds of loop: nothing may come
  EXPECT_EQ(owner_.got, "abc");
  ASSERT_EQ(owner_.sock.readStart(Owner::onRead), 0);
  EXPECT_EQ(owner_.got, "abc");  // never from inside readStart
  peerWrite("hij");
  ASSERT_TRUE(pump([&] { return owner_.got.size() >= 10; }));
  EXPECT_EQ(owner_.got, "abcdefghij");
  EXPECT_EQ(ring_.buffersFree(), kBuffers);
}

TEST_F(UringSocketTest, SendThePeerDoesNotTakeCountsAsQueuedUntilItDrains) {
  std::string data = pattern(8 << 20);
  uv_buf_t b = uv_buf_init(data.data(), static_cast<unsigned>(data.size()));
  ASSERT_EQ(owner_.sock.write(&b, 1, &owner_), 0);
  EXPECT_EQ(owner_.queued_bytes, data.size());  // queued until a send completes
  EXPECT_EQ(owner_.queued_writes, 1u);
  uv_run(&loop_, UV_RUN_NOWAIT);  // the flush sends; the socket pair takes far less
  EXPECT_GT(owner_.queued_bytes, 0u);
  EXPECT_LT(owner_.queued_bytes, data.size());
  EXPECT_EQ(owner_.queued_writes, 1u);
  std::string received;
  char buf[65536];
  ASSERT_TRUE(pump([&] { return received.size() >= data.size(); },
                   [&] {
                     ssize_t n = ::read(fds_[1], buf, sizeof buf);
                     if (n > 0) received.append(buf, static_cast<size_t>(n));
                   }));
  EXPECT_TRUE(received == data);
  ASSERT_TRUE(pump([&] { return owner_.queued_writes == 0; }));
  EXPECT_EQ(owner_.queued_bytes, 0u);
  EXPECT_GE(owner_.write_done, 1);
  EXPECT_EQ(owner_.write_status, 0);
}

TEST_F(UringSocketTest, PeerCloseIsEofAndCloseCallbackIsNeverSynchronous) {
  ASSERT_EQ(owner_.sock.readStart(Owner::onRead), 0);
  peerWrite("last");
  ::close(fds_[1]);
  fds_[1] = -1;
  ASSERT_TRUE(pump([&] { return owner_.status != 0; }));
  EXPECT_EQ(owner_.got, "last");
  EXPECT_EQ(owner_.status, UV_EOF);
  owner_.sock.close(Owner::onClosed);
  EXPECT_EQ(owner_.closed, 0);
  EXPECT_TRUE(owner_.sock.closing());
  EXPECT_EQ(owner_.sock.write(nullptr, 0, &owner_), UV_EPIPE);
  ASSERT_TRUE(pump([&] { return owner_.closed == 1; }));
}

TEST_F(UringSocketTest, ShutdownHalfClosesAfterTheBytes) {
  static int shutdown_status = 1;
  std::string data = pattern(3000);
  uv_buf_t b = uv_buf_init(data.data(), static_cast<unsigned>(data.size()));
  ASSERT_EQ(owner_.sock.write(&b, 1, &owner_), 0);
  ASSERT_EQ(owner_.sock.shutdown([](void*, int status) { shutdown_status = status; }), 0);
  ASSERT_TRUE(pump([&] { return shutdown_status != 1; }));
  EXPECT_EQ(shutdown_status, 0);
  std::string received;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fds_[1], buf, sizeof buf)) > 0) received.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(n, 0);  // EOF after the bytes
  EXPECT_EQ(received, data);
}

}  // namespace
}  // namespace sluice::proxy
