#include "proxy/stream/access_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace sluice::proxy {
namespace {

using namespace std::chrono;

// 2024-06-01T12:34:56.789Z
system_clock::time_point fixedTime() {
  return sys_days{year{2024} / June / 1} + hours{12} + minutes{34} + seconds{56} +
         milliseconds{789};
}

AccessRecord sampleRecord() {
  AccessRecord r;
  r.time = fixedTime();
  r.request_id = "req-1";
  r.remote = "192.0.2.7";
  r.method = "GET";
  r.host = "example.com";
  r.path = "/a?b=1";
  r.status = 200;
  r.bytes_sent = 512;
  r.duration_ms = 12.3456;
  r.route = "api";
  r.upstream = "backend";
  r.target = "10.0.0.1:8080";
  r.upstream_duration_ms = 10.5;
  r.cache = "miss";
  r.ratelimit = "allowed";
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.span_id = "00f067aa0ba902b7";
  r.referer = "https://example.com/";
  r.user_agent = "curl/8.0";
  return r;
}

std::string json(const AccessRecord& r) {
  std::string out;
  formatJson(r, out);
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(AccessLogTest, Rfc3339Millis) {
  std::string out;
  formatRfc3339Millis(fixedTime(), out);
  EXPECT_EQ(out, "2024-06-01T12:34:56.789Z");
  out.clear();
  formatRfc3339Millis(system_clock::time_point{}, out);
  EXPECT_EQ(out, "1970-01-01T00:00:00.000Z");
}

TEST(AccessLogTest, JsonExactLine) {
  EXPECT_EQ(json(sampleRecord()),
            "{\"time\":\"2024-06-01T12:34:56.789Z\",\"request_id\":\"req-1\","
            "\"remote\":\"192.0.2.7\",\"method\":\"GET\",\"host\":\"example.com\","
            "\"path\":\"/a?b=1\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes_sent\":512,"
            "\"duration_ms\":12.346,\"route\":\"api\",\"upstream\":\"backend\","
            "\"target\":\"10.0.0.1:8080\",\"upstream_duration_ms\":10.500,\"cache\":\"miss\","
            "\"ratelimit\":\"allowed\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
            "\"span_id\":\"00f067aa0ba902b7\"}\n");
}

TEST(AccessLogTest, JsonTerminationOnlyWhenTheResponseEndedEarly) {
  AccessRecord r = sampleRecord();
  EXPECT_EQ(json(r).find("termination"), std::string::npos);
  r.termination = "client_send_timeout";
  std::string line = json(r);
  EXPECT_NE(
      line.find(",\"span_id\":\"00f067aa0ba902b7\",\"termination\":\"client_send_timeout\"}\n"),
      std::string::npos)
      << line;
}

TEST(AccessLogTest, JsonNullsWhenNoUpstreamCacheOrLimiter) {
  AccessRecord r = sampleRecord();
  r.status = 404;
  r.route = r.upstream = r.target = "";
  r.upstream_duration_ms.reset();
  r.cache.reset();
  r.ratelimit.reset();
  std::string line = json(r);
  EXPECT_NE(line.find("\"route\":\"\",\"upstream\":\"\",\"target\":\"\","
                      "\"upstream_duration_ms\":null,\"cache\":null,\"ratelimit\":null,"),
            std::string::npos)
      << line;
}

TEST(AccessLogTest, JsonEscapesEverything) {
  AccessRecord r = sampleRecord();
  // Quote, backslash, tab, NUL, newline, DEL; valid UTF-8 (é, €, 😀) passes through; invalid
  // bytes: lone continuation 0x80, 0xff, overlong C0 AF, surrogate ED A0 80, truncated E2 82.
  std::string path = std::string("/q\"b\\c\td") + '\0' + "\n\x7f" + "\xC3\xA9\xE2\x82\xAC" +
                     "\xF0\x9F\x98\x80" + "\x80\xFF" + "\xC0\xAF" + "\xED\xA0\x80" + "\xE2\x82";
  r.path = path;
  std::string line = json(r);
  EXPECT_NE(line.find("\"path\":\"/q\\\"b\\\\c\\u0009d\\u0000\\u000a\\u007f"
                      "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"
                      "\\u0080\\u00ff\\u00c0\\u00af\\u00ed\\u00a0\\u0080\\u00e2\\u0082\","),
            std::string::npos)
      << line;
  // One line per record, whatever the input.
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(AccessLogTest, CombinedExactLine) {
  std::string out;
  formatCombined(sampleRecord(), out);
  EXPECT_EQ(out,
            "192.0.2.7 - - [01/Jun/2024:12:34:56 +0000] \"GET /a?b=1 HTTP/1.1\" 200 512 "
            "\"https://example.com/\" \"curl/8.0\"\n");
}

TEST(AccessLogTest, CombinedEscapesAndDashes) {
  AccessRecord r = sampleRecord();
  r.path = "/x\"y\\z\n\xC3\xA9";
  r.referer = "";
  r.user_agent = "";
  std::string out;
  formatCombined(r, out);
  EXPECT_EQ(out,
            "192.0.2.7 - - [01/Jun/2024:12:34:56 +0000] "
            "\"GET /x\\x22y\\x5Cz\\x0A\\xC3\\xA9 HTTP/1.1\" 200 512 \"-\" \"-\"\n");
  r.method = "";
  out.clear();
  formatCombined(r, out);
  EXPECT_NE(out.find("] \"-\" 200 512"), std::string::npos) << out;
}

class AccessLogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice_access_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/access.log";
  }
  void TearDown() override {
    unlink(path_.c_str());
    unlink((path_ + ".1").c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_;
  std::string path_;
};

TEST_F(AccessLogWriterTest, FlushAppendsWholeLines) {
  { std::ofstream(path_) << "existing\n"; }
  AccessLogWriter w;
  std::string error;
  ASSERT_TRUE(w.open(path_, AccessLogFormat::Json, error)) << error;
  EXPECT_TRUE(w.enabled());
  w.append(sampleRecord());
  w.append(sampleRecord());
  EXPECT_EQ(readFile(path_), "existing\n");  // buffered until flush
  EXPECT_GT(w.buffered(), 0u);
  EXPECT_TRUE(w.flush());
  EXPECT_EQ(w.buffered(), 0u);
  std::string line = json(sampleRecord());
  EXPECT_EQ(readFile(path_), "existing\n" + line + line);
  w.append(sampleRecord());
  EXPECT_TRUE(w.flush());
  EXPECT_EQ(readFile(path_), "existing\n" + line + line + line);
  EXPECT_EQ(w.droppedLines(), 0u);
}

TEST_F(AccessLogWriterTest, CombinedFormatAndFlushOnDestruction) {
  {
    AccessLogWriter w;
    std::string error;
    ASSERT_TRUE(w.open(path_, AccessLogFormat::Combined, error)) << error;
    w.append(sampleRecord());
  }
  std::string expected;
  formatCombined(sampleRecord(), expected);
  EXPECT_EQ(readFile(path_), expected);
}

TEST_F(AccessLogWriterTest, WritersOnSeveralThreadsNeverInterleaveLines) {
  constexpr int kThreads = 4;
  constexpr int kLines = 3000;  // several automatic flushes per thread
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      AccessLogWriter w;
      std::string error;
      ASSERT_TRUE(w.open(path_, AccessLogFormat::Json, error)) << error;
      for (int i = 0; i < kLines; ++i) w.append(sampleRecord());
      w.flush();
    });
  }
  for (auto& th : threads) th.join();
  std::string line = json(sampleRecord());
  std::string text = readFile(path_);
  ASSERT_EQ(text.size(), line.size() * kThreads * kLines);
  for (size_t at = 0; at < text.size(); at += line.size()) {
    ASSERT_EQ(text.compare(at, line.size(), line), 0) << "torn line at offset " << at;
  }
}

TEST_F(AccessLogWriterTest, ReopenFollowsRotation) {
  AccessLogWriter w;
  std::string error;
  ASSERT_TRUE(w.open(path_, AccessLogFormat::Json, error)) << error;
  w.append(sampleRecord());
  ASSERT_EQ(rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  w.append(sampleRecord());
  ASSERT_TRUE(w.reopen(error)) << error;  // flushes both lines into the rotated file first
  w.append(sampleRecord());
  w.flush();
  std::string line = json(sampleRecord());
  EXPECT_EQ(readFile(path_ + ".1"), line + line);
  EXPECT_EQ(readFile(path_), line);
}

TEST_F(AccessLogWriterTest, OpenFailureLeavesWriterOff) {
  AccessLogWriter w;
  std::string error;
  EXPECT_FALSE(w.open(dir_ + "/missing/dir/access.log", AccessLogFormat::Json, error));
  EXPECT_NE(error.find("missing/dir"), std::string::npos) << error;
  EXPECT_FALSE(w.enabled());
  w.append(sampleRecord());
  EXPECT_EQ(w.buffered(), 0u);
}

TEST(AccessLogWriterOffTest, OffIsANoOp) {
  AccessLogWriter w;
  std::string error;
  EXPECT_TRUE(w.open("off", AccessLogFormat::Json, error));
  EXPECT_FALSE(w.enabled());
  w.append(sampleRecord());
  EXPECT_EQ(w.buffered(), 0u);
  EXPECT_TRUE(w.flush());
}

TEST(AccessLogWriterPipeTest, FullNonBlockingPipeDropsAndCountsWithoutBlocking) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  AccessLogWriter w;
  w.adopt(fds[1], /*take_ownership=*/false, AccessLogFormat::Json);
  // Nobody reads: the pipe (64 KiB by default) fills, then lines are dropped, not waited for.
  std::string line = json(sampleRecord());
  const int lines = static_cast<int>(4 * 65536 / line.size());
  for (int i = 0; i < lines; ++i) w.append(sampleRecord());
  w.flush();
  EXPECT_GT(w.droppedLines(), 0u);
  // What did get through is whole lines only (chunks of whole lines, each <= PIPE_BUF).
  std::string got;
  char buf[65536];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  ASSERT_GT(got.size(), 0u);
  EXPECT_EQ(got.size() % line.size(), 0u);
  EXPECT_EQ(got.substr(0, line.size()), line);
  EXPECT_EQ(got.size() / line.size() + w.droppedLines(), static_cast<size_t>(lines));
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace sluice::proxy
