#include "proxy/stream/access_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <utility>

#include "proxy/stream/access_log_template.h"

namespace sluice::proxy {
namespace {

constexpr char kHexLower[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Length of the valid UTF-8 sequence starting at s[i] (2 to 4), or 0 if the byte does not
// start one (Unicode 15, table 3-7: no overlongs, no surrogates, nothing past U+10FFFF).
size_t utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) -> unsigned { return static_cast<unsigned char>(s[k]); };
  unsigned c = byte(i);
  size_t len;
  unsigned lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

void appendJsonString(std::string_view s, std::string& out) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else if (size_t len = c >= 0x80 ? utf8SequenceLength(s, i) : 0; len > 0) {
      out.append(s.substr(i, len));
      i += len;
      continue;
    } else {  // control byte, DEL, or a byte that is not valid UTF-8
      out.append("\\u00");
      out.push_back(kHexLower[c >> 4]);
      out.push_back(kHexLower[c & 0xF]);
    }
    ++i;
  }
  out.push_back('"');
}

void appendJsonStringOrNull(const std::optional<std::string_view>& s, std::string& out) {
  if (s) {
    appendJsonString(*s, out);
  } else {
    out.append("null");
  }
}

void appendMillis(double ms, std::string& out) {
  if (!std::isfinite(ms)) {
    out.append("null");
    return;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, ms, std::chars_format::fixed, 3);
  out.append(buf, res.ptr);
}

template <class Int>
void appendInt(Int v, std::string& out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

// Zero-padded to `width` digits.
void appendPadded(long v, int width, std::string& out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  for (int n = static_cast<int>(res.ptr - buf); n < width; ++n) out.push_back('0');
  out.append(buf, res.ptr);
}

struct CivilTime {
  int year;
  unsigned month, day;
  long hour, minute, second, millis;
};

CivilTime civil(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(t);
  auto day = floor<days>(ms);
  year_month_day ymd{day};
  hh_mm_ss<milliseconds> tod{ms - day};
  return {static_cast<int>(ymd.year()),
          static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()),
          static_cast<long>(tod.hours().count()),
          static_cast<long>(tod.minutes().count()),
          static_cast<long>(tod.seconds().count()),
          static_cast<long>(tod.subseconds().count())};
}

// nginx's access-log escaping: `"`, `\`, control bytes and bytes >= 0x7f as \xHH.
void appendLogEscaped(std::string_view s, std::string& out) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      out.append("\\x");
      out.push_back(kHexUpper[c >> 4]);
      out.push_back(kHexUpper[c & 0xF]);
    } else {
      out.push_back(ch);
    }
  }
}

}  // namespace

void appendLogField(std::string_view s, std::string& out) {
  if (s.empty()) {
    out.push_back('-');
  } else {
    appendLogEscaped(s, out);
  }
}

void formatRfc3339Millis(std::chrono::system_clock::time_point t, std::string& out) {
  CivilTime c = civil(t);
  appendPadded(c.year, 4, out);
  out.push_back('-');
  appendPadded(c.month, 2, out);
  out.push_back('-');
  appendPadded(c.day, 2, out);
  out.push_back('T');
  appendPadded(c.hour, 2, out);
  out.push_back(':');
  appendPadded(c.minute, 2, out);
  out.push_back(':');
  appendPadded(c.second, 2, out);
  out.push_back('.');
  appendPadded(c.millis, 3, out);
  out.push_back('Z');
}

void formatJson(const AccessRecord& r, std::string& out) {
  out.append("{\"time\":\"");
  formatRfc3339Millis(r.time, out);
  out.append("\",\"request_id\":");
  appendJsonString(r.request_id, out);
  out.append(",\"remote\":");
  appendJsonString(r.remote, out);
  out.append(",\"method\":");
  appendJsonString(r.method, out);
  out.append(",\"host\":");
  appendJsonString(r.host, out);
  out.append(",\"path\":");
  appendJsonString(r.path, out);
  out.append(",\"protocol\":");
  appendJsonString(r.protocol, out);
  out.append(",\"status\":");
  appendInt(r.status, out);
  out.append(",\"bytes_sent\":");
  appendInt(r.bytes_sent, out);
  out.append(",\"duration_ms\":");
  appendMillis(r.duration_ms, out);
  out.append(",\"route\":");
  appendJsonString(r.route, out);
  out.append(",\"upstream\":");
  appendJsonString(r.upstream, out);
  out.append(",\"target\":");
  appendJsonString(r.target, out);
  out.append(",\"upstream_duration_ms\":");
  if (r.upstream_duration_ms) {
    appendMillis(*r.upstream_duration_ms, out);
  } else {
    out.append("null");
  }
  out.append(",\"cache\":");
  appendJsonStringOrNull(r.cache, out);
  out.append(",\"ratelimit\":");
  appendJsonStringOrNull(r.ratelimit, out);
  out.append(",\"trace_id\":");
  appendJsonString(r.trace_id, out);
  out.append(",\"span_id\":");
  appendJsonString(r.span_id, out);
  if (r.termination) {  // only on a response that ended early: whole ones keep the spec's fields
    out.append(",\"termination\":");
    appendJsonString(*r.termination, out);
  }
  out.append("}\n");
}

void formatCombined(const AccessRecord& r, std::string& out) {
  appendLogField(r.remote, out);
  out.append(" - - [");
  CivilTime c = civil(r.time);
  appendPadded(c.day, 2, out);
  out.push_back('/');
  out.append(kMonths[c.month - 1]);
  out.push_back('/');
  appendPadded(c.year, 4, out);
  out.push_back(':');
  appendPadded(c.hour, 2, out);
  out.push_back(':');
  appendPadded(c.minute, 2, out);
  out.push_back(':');
  appendPadded(c.second, 2, out);
  out.append(" +0000] \"");
  if (r.method.empty()) {
    out.push_back('-');  // no request line was parsed
  } else {
    appendLogEscaped(r.method, out);
    out.push_back(' ');
    appendLogEscaped(r.path, out);
    out.push_back(' ');
    appendLogEscaped(r.protocol, out);
  }
  out.append("\" ");
  appendInt(r.status, out);
  out.push_back(' ');
  appendInt(r.bytes_sent, out);
  out.append(" \"");
  appendLogField(r.referer, out);
  out.append("\" \"");
  appendLogField(r.user_agent, out);
  out.append("\"\n");
}

// ---- writer ----

AccessLogWriter::~AccessLogWriter() {
  flush();
  closeFd();
}

AccessLogWriter::AccessLogWriter(AccessLogWriter&& other) noexcept {
  *this = std::move(other);
}

AccessLogWriter& AccessLogWriter::operator=(AccessLogWriter&& other) noexcept {
  if (this == &other) return *this;
  flush();
  closeFd();
  fd_ = std::exchange(other.fd_, -1);
  owns_fd_ = std::exchange(other.owns_fd_, false);
  chunked_ = other.chunked_;
  format_ = other.format_;
  template_ = std::move(other.template_);
  path_ = std::move(other.path_);
  buffer_ = std::move(other.buffer_);
  other.buffer_.clear();
  head_is_tail_ = std::exchange(other.head_is_tail_, false);
  dropped_lines_ = std::exchange(other.dropped_lines_, 0);
  return *this;
}

void AccessLogWriter::closeFd() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
  fd_ = -1;
  owns_fd_ = false;
}

bool AccessLogWriter::open(std::string_view destination, AccessLogFormat format,
                           std::string& error) {
  flush();
  closeFd();
  buffer_.clear();
  head_is_tail_ = false;
  format_ = format;
  path_.assign(destination);
  if (destination == "off") return true;
  int fd;
  if (destination == "stdout") {
    fd = STDOUT_FILENO;
  } else if (destination == "stderr") {
    fd = STDERR_FILENO;
  } else {
    fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      error = "cannot open access log " + path_ + ": " + std::strerror(errno);
      return false;
    }
    owns_fd_ = true;
  }
  struct stat st;
  chunked_ = fstat(fd, &st) != 0 || !S_ISREG(st.st_mode);
  fd_ = fd;
  return true;
}

void AccessLogWriter::adopt(int fd, bool take_ownership, AccessLogFormat format) {
  flush();
  closeFd();
  buffer_.clear();
  head_is_tail_ = false;
  format_ = format;
  path_.clear();
  struct stat st;
  chunked_ = fstat(fd, &st) != 0 || !S_ISREG(st.st_mode);
  fd_ = fd;
  owns_fd_ = take_ownership;
}

bool AccessLogWriter::reopen(std::string& error) {
  if (!owns_fd_ || path_.empty()) return true;  // off, stdout, stderr or adopted
  flush();
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot reopen access log " + path_ + ": " + std::strerror(errno);
    return false;
  }
  ::close(fd_);
  fd_ = fd;
  struct stat st;
  chunked_ = fstat(fd, &st) != 0 || !S_ISREG(st.st_mode);
  if (head_is_tail_) {
    // The start of that line went to the old file; its tail would be a torn line in the new one.
    size_t nl = buffer_.find('\n');
    buffer_.erase(0, nl == std::string::npos ? buffer_.size() : nl + 1);
    head_is_tail_ = false;
    ++dropped_lines_;
  }
  return true;
}

void AccessLogWriter::append(const AccessRecord& record) {
  if (fd_ < 0) return;
  if (buffer_.size() >= kMaxBuffered) {
    ++dropped_lines_;  // the destination is not keeping up
    return;
  }
  if (format_ == AccessLogFormat::Json) {
    formatJson(record, buffer_);
  } else if (format_ == AccessLogFormat::Template && template_ != nullptr) {
    template_->format(record, buffer_);
  } else {
    formatCombined(record, buffer_);
  }
  if (buffer_.size() >= kFlushThreshold) flush();
}

ssize_t AccessLogWriter::writeOnce(size_t from, size_t len) {
  for (;;) {
    ssize_t n = ::write(fd_, buffer_.data() + from, len);
    if (n >= 0 || errno != EINTR) return n;
  }
}

bool AccessLogWriter::midLineAt(size_t pos) const {
  return pos == 0 ? head_is_tail_ : buffer_[pos - 1] != '\n';
}

void AccessLogWriter::dropFrom(size_t pos) {
  size_t keep = pos;
  if (midLineAt(pos)) {
    size_t nl = buffer_.find('\n', pos);
    keep = nl == std::string::npos ? buffer_.size() : nl + 1;
  }
  dropped_lines_ += std::count(buffer_.begin() + static_cast<ptrdiff_t>(keep), buffer_.end(), '\n');
  buffer_.resize(keep);
}

bool AccessLogWriter::flush() {
  if (fd_ < 0 || buffer_.empty()) return true;
  bool ok = true;
  size_t pos = 0;
  while (pos < buffer_.size()) {
    size_t len = buffer_.size() - pos;
    if (chunked_ && len > PIPE_BUF) {
      // The longest run of whole lines that fits in PIPE_BUF; a longer line goes alone.
      size_t nl = buffer_.rfind('\n', pos + PIPE_BUF - 1);
      if (nl == std::string::npos || nl < pos) nl = buffer_.find('\n', pos);
      if (nl != std::string::npos) len = nl + 1 - pos;
    }
    ssize_t n = writeOnce(pos, len);
    if (n <= 0) {  // EAGAIN (full non-blocking pipe) or a real error: never wait
      dropFrom(pos);
      ok = false;
      break;
    }
    pos += static_cast<size_t>(n);
  }
  bool tail = pos < buffer_.size() && midLineAt(pos);
  buffer_.erase(0, pos);
  head_is_tail_ = tail;
  return ok;
}

}  // namespace sluice::proxy
