#include "proxy/http1/head_scanner.h"

#include "proxy/http1/byte_scan.h"

namespace sluice::proxy {

void HeadScanner::reset() {
  prev_ = '\n';
  line_start_ = true;
  seen_line_ = false;
  head_bytes_ = 0;
  rewrite_bias_ = 0;
}

HeadScanner::Result HeadScanner::scan(const char* data, size_t len, size_t& consumed) {
  size_t begin = seen_line_ ? 0 : len;  // where this call's head bytes start
  for (size_t i = 0; i < len; ++i) {
    if (!line_start_ && prev_ != '\r') {  // inside a line: ordinary bytes change nothing
      size_t n = countOrdinaryBytes(data + i, len - i);
      if (n > 0) {
        i += n;
        prev_ = data[i - 1];
        if (i == len) break;
      }
    }
    char c = data[i];
    auto u = static_cast<unsigned char>(c);
    if (prev_ == '\r' && c != '\n') return Result::Malformed;  // bare CR
    if (c == '\n') {
      if (prev_ != '\r') return Result::Malformed;  // bare LF
      if (line_start_) {
        if (seen_line_) {  // the empty line that ends the head
          consumed = i + 1;
          head_bytes_ += consumed - begin;
          prev_ = c;
          return Result::Complete;
        }
        // RFC 9112 §2.2: empty lines before the request line are ignored.
      }
      line_start_ = true;
      prev_ = c;
      continue;
    }
    if (c == '\r') {
      prev_ = c;
      continue;
    }
    if ((u < 0x20 && c != '\t') || u == 0x7f) return Result::Malformed;
    if (line_start_) {
      if (seen_line_ && (c == ' ' || c == '\t')) return Result::Malformed;  // obs-fold
      if (!seen_line_ && (c == ' ' || c == '\t')) return Result::Malformed;
      if (!seen_line_) begin = i;
      seen_line_ = true;
      line_start_ = false;
    }
    prev_ = c;
  }
  consumed = len;
  head_bytes_ += len - begin;
  return Result::NeedMore;
}

}  // namespace sluice::proxy
