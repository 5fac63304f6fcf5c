// The HTTP/1.1 framing decisions of Http1ResponseWriter, on a fake output that records every
// write(2) the client connection would make.
#include "proxy/http1/http1_response_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice::proxy {
namespace {

class FakeOutput final : public Http1Output {
 public:
  bool write(const uv_buf_t* bufs, unsigned count) override {
    std::string w;
    for (unsigned i = 0; i < count; ++i) w.append(bufs[i].base, bufs[i].len);
    writes.push_back(w);
    return true;
  }
  bool writeBeforeClose(const uv_buf_t* bufs, unsigned count) override {
    before_close = writes.size();
    return write(bufs, count);
  }
  std::string all() const {
    std::string s;
    for (const std::string& w : writes) s += w;
    return s;
  }
  std::vector<std::string> writes;
  size_t before_close = SIZE_MAX;  // the index of the write that may leave with the FIN
};

struct WriterTest : ::testing::Test {
  FakeOutput out;
  std::atomic<bool> draining{false};
  Http1ResponseWriter w{out, draining};

  void begin(int minor = 1, bool keep_alive = true, bool upgrade = false) {
    RequestMeta meta;
    meta.keep_alive = keep_alive;
    meta.upgrade = upgrade;
    w.begin(minor, meta);
  }
  static base::ResponseHead head(int status = 200) {
    base::ResponseHead h;
    h.status = status;
    h.headers.add("x-a", "1");
    return h;
  }
};

TEST_F(WriterTest, KnownLengthHeadAndSmallBodyLeaveInOneWrite) {
  begin();
  base::ResponseHead h = head();
  ResponseHeadInfo info;
  info.has_length = true;
  info.length = 5;
  w.sendHeaders(h, info);
  EXPECT_TRUE(out.writes.empty());  // gathered until the end of the read
  w.sendData("hello", 5);
  w.sendEnd();
  ASSERT_EQ(out.writes.size(), 1u);
  EXPECT_EQ(out.writes[0], "HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 5\r\n\r\nhello");
  EXPECT_EQ(w.bytesSent(), out.writes[0].size());
  EXPECT_TRUE(w.keepAlive());
  EXPECT_EQ(w.framing(), BodyFraming::Length);
}

TEST_F(WriterTest, UnknownLengthIsChunkedForHttp11WithLastChunkAtTheEnd) {
  begin();
  base::ResponseHead h = head();
  w.sendHeaders(h, ResponseHeadInfo{});
  w.sendData("abc", 3);
  w.flush();
  w.sendData("0123456789", 10);
  w.sendEnd();
  EXPECT_EQ(w.framing(), BodyFraming::Chunked);
  ASSERT_EQ(out.writes.size(), 3u);
  EXPECT_EQ(out.writes[0],
            "HTTP/1.1 200 OK\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n");
  EXPECT_EQ(out.writes[1], "a\r\n0123456789\r\n");  // nothing gathered: written at once
  EXPECT_EQ(out.writes[2], "0\r\n\r\n");
  EXPECT_EQ(w.bytesSent(), out.all().size());
  EXPECT_TRUE(w.keepAlive());
}

TEST_F(WriterTest, UnknownLengthForHttp10IsDelimitedByClose) {
  begin(0);
  base::ResponseHead h = head();
  w.sendHeaders(h, ResponseHeadInfo{});
  w.sendData("abc", 3);
  w.sendEnd();
  EXPECT_EQ(out.all(), "HTTP/1.1 200 OK\r\nx-a: 1\r\nconnection: close\r\n\r\nabc");
  EXPECT_FALSE(w.keepAlive());
  EXPECT_EQ(w.protocol(), "HTTP/1.0");
}

TEST_F(WriterTest, Http10KeepAliveIsSaid) {
  begin(0);
  base::ResponseHead h = head();
  ResponseHeadInfo info;
  info.has_length = true;
  info.length = 0;
  w.sendHeaders(h, info);
  w.sendEnd();
  EXPECT_EQ(out.all(),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n");
  EXPECT_TRUE(w.keepAlive());
}

TEST_F(WriterTest, CloseWhenTheClientTheCoreOrDrainingSaySo) {
  for (int which = 0; which < 4; ++which) {
    out.writes.clear();
    draining = which == 2;
    begin(1, /*keep_alive=*/which != 0, /*upgrade=*/which == 3);
    base::ResponseHead h = head();
    ResponseHeadInfo info;
    info.has_length = true;
    info.keep_alive = which != 1;
    w.sendHeaders(h, info);
    w.sendEnd();
    EXPECT_NE(out.all().find("connection: close\r\n"), std::string::npos) << which;
    EXPECT_FALSE(w.keepAlive()) << which;
  }
}

// Only a close the client asked for is certain to follow the response at once: then the last
// write may be held for the FIN. A close the core or draining decides, an upgrade, or a
// keep-alive, write as usual (a pipelined request may be on its way).
TEST_F(WriterTest, TheLastWriteMayLeaveWithTheFinOnlyWhenTheClientAskedToClose) {
  for (int which = 0; which < 5; ++which) {
    out.writes.clear();
    out.before_close = SIZE_MAX;
    draining = which == 2;
    begin(which == 4 ? 0 : 1, /*keep_alive=*/which != 0 && which != 4, /*upgrade=*/which == 3);
    base::ResponseHead h = head();
    ResponseHeadInfo info;
    info.has_length = true;
    info.length = 2;
    info.keep_alive = which != 1;
    w.sendHeaders(h, info);
    w.sendData("ok", 2);
    w.sendEnd();
    ASSERT_EQ(out.writes.size(), 1u) << which;
    if (which == 0 || which == 4) {
      EXPECT_EQ(out.before_close, 0u) << which;
    } else {
      EXPECT_EQ(out.before_close, SIZE_MAX) << which;
    }
  }
}

TEST_F(WriterTest, BodilessKeepsTheHeadsOwnLengthAndSendsNoFraming) {
  begin();
  base::ResponseHead h = head(304);
  h.headers.add("content-length", "42");
  ResponseHeadInfo info;
  info.bodiless = true;
  info.has_length = true;
  info.length = 42;
  w.sendHeaders(h, info);
  w.sendEnd();
  EXPECT_EQ(out.all(), "HTTP/1.1 304 Not Modified\r\nx-a: 1\r\ncontent-length: 42\r\n\r\n");
  EXPECT_EQ(w.framing(), BodyFraming::None);
  EXPECT_TRUE(w.keepAlive());
}

TEST_F(WriterTest, ProxiedFastPathAddsSluicesFields) {
  begin();
  base::ResponseHead h = head();
  h.headers.add("connection", "x-hop");
  h.headers.add("x-hop", "gone");
  ProxiedFields add;
  add.via = "1.1 sluice";
  add.request_id = "rid";
  add.date = "Thu, 01 Jan 1970 00:00:00 GMT";
  ResponseHeadInfo info;
  info.has_length = true;
  info.length = 2;
  info.proxied = &add;
  w.sendHeaders(h, info);
  w.sendData("ok", 2);
  w.sendEnd();
  std::string expected;
  base::ResponseHead edited = head();
  edited.headers.add("connection", "x-hop");
  edited.headers.add("x-hop", "gone");
  applyProxiedResponseEdits(edited.headers, add);
  appendResponseHead(edited, BodyFraming::Length, 2, nullptr, expected);
  EXPECT_EQ(out.all(), expected + "ok");
  EXPECT_EQ(out.all().find("x-hop"), std::string::npos);
}

TEST_F(WriterTest, LargeBodyGoesWithTheHeadInOneVectoredWrite) {
  begin();
  base::ResponseHead h = head();
  ResponseHeadInfo info;
  info.has_length = true;
  info.length = kCoalesceLimit + 1;
  w.sendHeaders(h, info);
  std::string body(kCoalesceLimit + 1, 'b');
  w.sendData(body.data(), body.size());
  EXPECT_TRUE(w.responseFlushed());
  ASSERT_EQ(out.writes.size(), 1u);
  EXPECT_EQ(out.writes[0].substr(out.writes[0].size() - body.size()), body);
  w.sendEnd();
  EXPECT_EQ(out.writes.size(), 1u);  // nothing left to write
}

TEST_F(WriterTest, TrailersGoInTheLastChunkWhenChunked) {
  begin();
  base::ResponseHead h = head();
  w.sendHeaders(h, ResponseHeadInfo{});
  w.sendData("abc", 3);
  base::HeaderMap t;
  t.add("x-checksum", "c0ffee");
  t.add("content-length", "3");  // framing fields never travel as trailers
  w.sendTrailers(t);
  w.sendEnd();
  EXPECT_EQ(out.all(),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n"
            "0\r\nx-checksum: c0ffee\r\n\r\n");
  EXPECT_EQ(w.bytesSent(), out.all().size());
}

TEST_F(WriterTest, TrailersAreDroppedWithoutChunkedFraming) {
  begin();
  base::ResponseHead h = head();
  ResponseHeadInfo info;
  info.has_length = true;
  info.length = 3;
  w.sendHeaders(h, info);
  w.sendData("abc", 3);
  base::HeaderMap t;
  t.add("x-checksum", "c0ffee");
  w.sendTrailers(t);
  w.sendEnd();
  EXPECT_EQ(out.all(), "HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 3\r\n\r\nabc");
}

TEST_F(WriterTest, AHeadStillGatheredCanBeTakenBack) {
  begin();
  base::ResponseHead h = head();
  w.sendHeaders(h, ResponseHeadInfo{});
  w.sendData("ab", 2);
  EXPECT_FALSE(w.responseFlushed());
  EXPECT_TRUE(w.takeBackHead());
  EXPECT_EQ(w.bytesSent(), 0u);
  EXPECT_TRUE(out.writes.empty());
  // Another response instead (the 502), on the same writer.
  base::ResponseHead reply = head(502);
  ResponseHeadInfo info;
  info.has_length = true;
  info.length = 0;
  w.sendHeaders(reply, info);
  w.sendEnd();
  EXPECT_EQ(out.all(), "HTTP/1.1 502 Bad Gateway\r\nx-a: 1\r\ncontent-length: 0\r\n\r\n");
}

TEST_F(WriterTest, AHeadThatLeftCannotBeTakenBack) {
  begin();
  base::ResponseHead h = head();
  w.sendHeaders(h, ResponseHeadInfo{});
  w.flush();
  EXPECT_TRUE(w.responseFlushed());
  EXPECT_FALSE(w.takeBackHead());
}

TEST_F(WriterTest, InterimHeadsGoToHttp11ClientsOnlyAndAreNotCounted) {
  begin();
  base::ResponseHead early = head(103);
  early.headers.add("connection", "close");
  w.sendInterim(early);
  EXPECT_EQ(out.all(), "HTTP/1.1 103 Early Hints\r\nx-a: 1\r\n\r\n");
  w.sendContinue();
  EXPECT_EQ(out.writes.back(), "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(w.bytesSent(), 0u);
  EXPECT_FALSE(w.responseFlushed());
  out.writes.clear();
  begin(0);
  base::ResponseHead again = head(103);
  w.sendInterim(again);
  EXPECT_TRUE(out.writes.empty());
}

TEST_F(WriterTest, UpgradeSaysSoAndNeverKeepsAlive) {
  begin(1, true, true);
  base::ResponseHead h = head(101);
  ResponseHeadInfo info;
  info.upgrade = true;
  w.sendHeaders(h, info);
  w.flush();
  EXPECT_EQ(out.all(), "HTTP/1.1 101 Switching Protocols\r\nx-a: 1\r\nconnection: upgrade\r\n\r\n");
  EXPECT_FALSE(w.keepAlive());
  EXPECT_TRUE(w.writeRaw("raw", 3));
  EXPECT_EQ(out.writes.back(), "raw");
  EXPECT_EQ(w.bytesSent(), out.writes[0].size());  // tunnel bytes are not counted
}

TEST_F(WriterTest, KeepAliveRefusedByAFirstHeadStaysRefusedForTheReplyAfterIt) {
  begin(0);
  base::ResponseHead h = head();
  w.sendHeaders(h, ResponseHeadInfo{});  // HTTP/1.0 without length: close-delimited
  EXPECT_TRUE(w.takeBackHead());
  base::ResponseHead reply = head(502);
  ResponseHeadInfo info;
  info.has_length = true;
  w.sendHeaders(reply, info);
  w.sendEnd();
  EXPECT_NE(out.all().find("connection: close\r\n"), std::string::npos);
  begin(0);  // a new request starts afresh
  EXPECT_TRUE(w.keepAlive());
}

}  // namespace
}  // namespace sluice::proxy
