#include "proxy/head_scanner.h"

#include "proxy/byte_scan.h"

namespace sluice::proxy {

void HeadScanner::reset() {
  prev_ = '\n';
  line_start_ = true;
  seen_line_ = false;
}

HeadScanner::Result HeadScanner::scan(const char* data, size_t len, size_t& consumed) {
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
      seen_line_ = true;
      line_start_ = false;
    }
    prev_ = c;
  }
  consumed = len;
  return Result::NeedMore;
}

}  // namespace sluice::proxy
