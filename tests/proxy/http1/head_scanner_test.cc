#include "proxy/http1/head_scanner.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::proxy {
namespace {

using R = HeadScanner::Result;

R scanAll(const std::string& s, size_t& consumed, size_t step = 0) {
  HeadScanner h;
  if (step == 0) return h.scan(s.data(), s.size(), consumed);
  size_t off = 0;
  while (off < s.size()) {
    size_t n = std::min(step, s.size() - off);
    size_t used = 0;
    R r = h.scan(s.data() + off, n, used);
    if (r != R::NeedMore) {
      consumed = off + used;
      return r;
    }
    off += n;
  }
  consumed = off;
  return R::NeedMore;
}

TEST(HeadScanner, FindsTheEndOfAHeadInAnySplit) {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
  std::string all = head + "BODY\nwith bare LF";
  for (size_t step : {0, 1, 2, 3, 7}) {
    size_t used = 0;
    EXPECT_EQ(scanAll(all, used, step), R::Complete) << step;
    EXPECT_EQ(used, head.size()) << step;
  }
}

TEST(HeadScanner, LeadingEmptyLinesAreSkipped) {
  size_t used = 0;
  std::string s = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(scanAll(s, used), R::Complete);
  EXPECT_EQ(used, s.size());
}

// headBytes() is what limits.max_header_bytes bounds: request line + fields + the empty line,
// exactly, however the head is split, and without the empty lines before it.
TEST(HeadScanner, CountsTheHeadBytesExactly) {
  std::string head = "GET /x HTTP/1.1\r\nHost: a\r\nX-Long: " + std::string(100, 'v') + "\r\n\r\n";
  for (size_t step : {0, 1, 2, 5, 64}) {
    for (const std::string& before : {std::string(), std::string("\r\n\r\n")}) {
      HeadScanner h;
      std::string all = before + head + "BODY";
      size_t off = 0, used = 0;
      R r = R::NeedMore;
      while (r == R::NeedMore && off < all.size()) {
        size_t n = step == 0 ? all.size() : std::min(step, all.size() - off);
        r = h.scan(all.data() + off, n, used);
        EXPECT_LE(h.headBytes(), head.size()) << step;
        off += n;
      }
      EXPECT_EQ(r, R::Complete) << step;
      EXPECT_EQ(h.headBytes(), head.size()) << step << " " << before.size();
      h.reset();
      EXPECT_EQ(h.headBytes(), 0u);
    }
  }
  HeadScanner partial;
  size_t used = 0;
  EXPECT_EQ(partial.scan(head.data(), 10, used), R::NeedMore);
  EXPECT_EQ(partial.headBytes(), 10u) << "bytes of an unfinished head count as they come";
}

TEST(HeadScanner, IncompleteHeadNeedsMore) {
  size_t used = 0;
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nHost: a\r\n", used), R::NeedMore);
}

TEST(HeadScanner, RejectsBareLfBareCrObsFoldAndControls) {
  const char* bad[] = {
      "GET / HTTP/1.1\nHost: a\r\n\r\n",        // bare LF after the request line
      "GET / HTTP/1.1\r\nHost: a\n\r\n",        // bare LF after a field
      "GET / HTTP/1.1\r\nHost: a\r\n\n",        // bare LF as the empty line
      "GET / HTTP/1.1\rHost: a\r\n\r\n",        // bare CR
      "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",   // obs-fold with SP
      "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n",  // obs-fold with HTAB
      "GET / HTTP/1.1\r\nX: a\x01"
      "b\r\n\r\n",                           // other control byte
      "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",  // DEL
      " GET / HTTP/1.1\r\n\r\n",             // whitespace before the request line
  };
  for (const char* b : bad) {
    std::string s(b);
    size_t used = 0;
    EXPECT_EQ(scanAll(s, used), R::Malformed) << s;
  }
  std::string nul("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 27);
  size_t used = 0;
  EXPECT_EQ(scanAll(nul, used), R::Malformed);
}

TEST(HeadScanner, AllowsTabsAndObsTextInValues) {
  size_t used = 0;
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nX: a\tb \xc3\xa9\r\n\r\n", used), R::Complete);
}

TEST(HeadScanner, ResetStartsANewHead) {
  HeadScanner h;
  size_t used = 0;
  std::string a = "GET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(h.scan(a.data(), a.size(), used), R::Complete);
  h.reset();
  EXPECT_EQ(h.scan(a.data(), a.size(), used), R::Complete);
  EXPECT_EQ(used, a.size());
}

TEST(HeadScanner, CountsARewrittenRequestLineAsSent) {
  // "FROBNICATE / HTTP/1.1" reached the scanner as "POST / HTTP/1.1": 6 bytes more were sent.
  HeadScanner h;
  size_t used = 0;
  std::string given = "POST / HTTP/1.1\r\nHost: a\r\n\r\n";
  h.countRewrite(21, 15);
  EXPECT_EQ(h.scan(given.data(), given.size(), used), R::Complete);
  EXPECT_EQ(h.headBytes(), given.size() + 6);
  // and fewer: "M1 / HTTP/1.1" given as "POST / HTTP/1.1"
  h.reset();
  h.countRewrite(13, 15);
  EXPECT_EQ(h.scan(given.data(), given.size(), used), R::Complete);
  EXPECT_EQ(h.headBytes(), given.size() - 2);
  h.reset();
  EXPECT_EQ(h.scan(given.data(), given.size(), used), R::Complete);
  EXPECT_EQ(h.headBytes(), given.size());
}

}  // namespace
}  // namespace sluice::proxy
