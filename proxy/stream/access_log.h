// The access log: a pure formatter (JSON lines as in spec/operations.md, or nginx "combined")
// and a buffered writer owned by one worker thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::proxy {

// One finished request. The string fields are views into the request's own storage: fill the
// record when the response completes and hand it to AccessLogWriter::append() at once.
struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the request head arrived (wall clock)
  std::string_view request_id;
  std::string_view remote;  // client IP, no port
  std::string_view method;
  std::string_view host;
  std::string_view path;  // request target as received
  std::string_view protocol = "HTTP/1.1";
  int status = 0;
  uint64_t bytes_sent = 0;    // response bytes written to the client, head included
  double duration_ms = 0;     // request head to last response byte
  std::string_view route;     // "" when no route matched
  std::string_view upstream;  // "" when sluice answered by itself
  std::string_view target;    // "host:port" of the upstream target, "" when none
  std::optional<double> upstream_duration_ms;  // null when no upstream was asked
  std::optional<std::string_view> cache;       // hit|miss|stale|bypass, null if no cache
  std::optional<std::string_view> ratelimit;   // allowed|limited, null if no limiter
  // Why the exchange ended before its response was complete (client_closed,
  // client_send_timeout, upstream_reset, upstream_timeout); absent when it was complete.
  std::optional<std::string_view> termination;
  std::string_view trace_id;    // W3C trace context of the request (filters/base/trace_context.h)
  std::string_view span_id;     // sluice's server span for it
  std::string_view referer;     // combined format only ("" prints as "-")
  std::string_view user_agent;  // combined format only
};

// Appends one JSON object and '\n', keys in the order of operations.md. Every string is escaped
// so the line is valid JSON: `"` and `\`, control bytes and DEL as \u00XX, and each byte that is
// not part of valid UTF-8 as \u00XX too (valid multi-byte UTF-8 is copied as is, so in the raw
// line an escaped \u0080-\u00ff always marks an invalid input byte). Times are RFC 3339 UTC with
// milliseconds; durations have three decimals.
void formatJson(const AccessRecord& record, std::string& out);

// Appends an nginx/Apache "combined" line and '\n':
//   remote - - [01/Jun/2024:12:00:00 +0000] "GET /p HTTP/1.1" 200 512 "referer" "agent"
// Quotes, backslashes, control and non-ASCII bytes inside fields are written as \xHH (as nginx
// does); empty fields print as "-".
void formatCombined(const AccessRecord& record, std::string& out);

// RFC 3339 UTC with milliseconds, e.g. 2024-06-01T12:00:00.123Z.
void formatRfc3339Millis(std::chrono::system_clock::time_point t, std::string& out);

// One field as nginx writes it in a log line: `"`, `\`, control bytes and bytes >= 0x7f as
// \xHH; an empty field as "-".
void appendLogField(std::string_view s, std::string& out);

enum class AccessLogFormat { Json, Combined, Template };

class AccessLogTemplate;

// A buffered access-log writer. Each worker thread owns its own writer, even when several
// workers log to the same path; nothing here is thread-safe and nothing needs to be.
//
// Lines from different workers never interleave mid-line because every write(2) carries whole
// lines only: on a file opened O_APPEND, Linux moves to the end and writes under the inode lock,
// so one write lands as one contiguous block; on a pipe or FIFO (stdout to a log collector)
// writes of at most PIPE_BUF bytes are atomic, so flush() cuts the buffer into chunks of whole
// lines of at most PIPE_BUF bytes (a single longer line goes alone and may interleave).
//
// The writer never blocks on purpose: if the fd is non-blocking and full (EAGAIN) or write
// fails, the pending lines are dropped and counted. A blocking stdout whose reader stalls will
// stall the worker; point the log at a file for production.
class AccessLogWriter {
 public:
  // Bytes buffered before append() flushes by itself; the worker also calls flush() once per
  // loop iteration (or on a short timer) so lines appear promptly.
  static constexpr size_t kFlushThreshold = 64 * 1024;
  // Lines that arrive while this much is still pending are dropped (and counted).
  static constexpr size_t kMaxBuffered = 1024 * 1024;

  AccessLogWriter() = default;  // off: every call is a no-op
  ~AccessLogWriter();           // flushes, closes a file it opened
  AccessLogWriter(AccessLogWriter&& other) noexcept;
  AccessLogWriter& operator=(AccessLogWriter&& other) noexcept;
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // `destination` is "off", "stdout", "stderr", or a file path opened
  // O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0644. On failure returns false, fills `error`
  // and leaves the writer off.
  bool open(std::string_view destination, AccessLogFormat format, std::string& error);

  // Uses an fd that is already open (a pipe handed over by a supervisor, or a test's pipe);
  // closes it on destruction only if `take_ownership`. reopen() leaves it alone.
  void adopt(int fd, bool take_ownership, AccessLogFormat format);

  // The line template used with AccessLogFormat::Template (access_log_template.h).
  void setTemplate(std::shared_ptr<const AccessLogTemplate> line) { template_ = std::move(line); }

  bool enabled() const { return fd_ >= 0; }

  // Formats the record into the buffer; flushes when the buffer passes kFlushThreshold.
  void append(const AccessRecord& record);

  // Writes every buffered whole line (loops over partial writes and EINTR). Returns false when
  // lines had to be dropped in this call.
  bool flush();

  // After SIGUSR1 (log rotation): flushes, then reopens the same path so new lines go to the new
  // file. stdout/stderr are left alone. Called on the owning worker's thread. On failure keeps
  // the old fd, fills `error` and returns false.
  bool reopen(std::string& error);

  uint64_t droppedLines() const { return dropped_lines_; }
  size_t buffered() const { return buffer_.size(); }

 private:
  void closeFd();
  bool midLineAt(size_t pos) const;
  // After a failed write at `pos`: keeps the rest of a line already partly written (so the
  // file never gets a torn line), drops and counts every line after it.
  void dropFrom(size_t pos);
  // One write(2) of buffer_[from, from + len), retried on EINTR. Returns bytes written or -1.
  ssize_t writeOnce(size_t from, size_t len);

  int fd_ = -1;
  bool owns_fd_ = false;
  bool chunked_ = false;  // not a regular file (pipe, socket, tty): writes of <= PIPE_BUF
  AccessLogFormat format_ = AccessLogFormat::Json;
  std::shared_ptr<const AccessLogTemplate> template_;
  std::string path_;
  std::string buffer_;         // whole lines, except that it may start with a line's tail
  bool head_is_tail_ = false;  // buffer_ starts with the rest of a partly written line
  uint64_t dropped_lines_ = 0;
};

}  // namespace sluice::proxy
