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
    NeedMore,   // every byte given belongs to the head, which is not over yet
    Complete,   // the head ended; `consumed` bytes (through the empty line) belong to it
    Malformed,
  };

  // Scans the next bytes of the stream. Call reset() before the next message's head.
  Result scan(const char* data, size_t len, size_t& consumed);
  void reset();

 private:
  char prev_ = '\n';        // a head starts as if after a line end
  bool line_start_ = true;  // the next byte begins a line
  bool seen_line_ = false;  // the request line has begun (empty lines before it are skipped)
};

}  // namespace sluice::proxy
