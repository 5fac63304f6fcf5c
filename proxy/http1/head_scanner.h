// A byte-level check of request heads that runs before llhttp sees them: llhttp 8.1 (even in
// strict mode) accepts a bare LF as a line end and obs-fold continuation lines, which other
// parsers read differently (RFC 9112 §2.2, §5.2). Both, bare CR, and control bytes in the head
// make the request malformed. Also finds where the head ends so the parser can be fed head and
// body separately.
#pragma once

#include <cstddef>

namespace sluice::proxy {

class HeadScanner {
 public:
  enum class Result {
    NeedMore,  // every byte given belongs to the head, which is not over yet
    Complete,  // the head ended; `consumed` bytes (through the empty line) belong to it
    Malformed,
  };

  // Scans the next bytes of the stream. Call reset() before the next message's head.
  Result scan(const char* data, size_t len, size_t& consumed);
  void reset();

  // Bytes of this head scanned so far: from the request line's first byte through the empty
  // line once Complete (empty lines before the request line are not counted). This is the
  // size limits.max_header_bytes bounds; the scanner runs ahead of the parser, so while the
  // parser is inside a head this already counts the head's bytes it was given.
  size_t headBytes() const { return head_bytes_ + rewrite_bias_; }

  // The request line was rewritten before it reached the scanner (fixRequestLine): count it as
  // the client sent it, `sent - given` bytes more (or fewer) than what will be scanned.
  void countRewrite(size_t sent, size_t given) { rewrite_bias_ = sent - given; }

 private:
  char prev_ = '\n';        // a head starts as if after a line end
  bool line_start_ = true;  // the next byte begins a line
  bool seen_line_ = false;  // the request line has begun (empty lines before it are skipped)
  size_t head_bytes_ = 0;
  size_t rewrite_bias_ = 0;  // modulo 2^64: may stand for a negative difference
};

}  // namespace sluice::proxy
