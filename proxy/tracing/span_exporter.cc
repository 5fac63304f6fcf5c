#include "proxy/tracing/span_exporter.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/tracing/otlp_json.h"
#include "proxy/tracing/otlp_protobuf.h"

namespace sluice::proxy::tracing {
namespace {

constexpr size_t kMaxBatch = 512;                 // spans per POST (OTel's batch default)
constexpr std::chrono::milliseconds kDelay{500};  // a partial batch waits at most this long
constexpr size_t kSpareBuffers = 16;              // batch buffers kept for the workers' reuse
constexpr size_t kSpareCapacity = 1 << 20;        // a buffer above this goes back to malloc

struct Endpoint {
  std::string host, port, path;
};

// `http://host[:port]/path` (checked at load, config/parse_tracing.cc).
Endpoint splitEndpoint(const std::string& url) {
  Endpoint e;
  std::string rest = url.substr(7);
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  e.path = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = authority.rfind(':');
  bool v6 = !authority.empty() && authority.front() == '[';
  size_t close = authority.find(']');
  if (colon != std::string::npos && (!v6 || colon > close)) {
    e.port = authority.substr(colon + 1);
    authority = authority.substr(0, colon);
  } else {
    e.port = "80";
  }
  if (v6 && authority.size() >= 2) authority = authority.substr(1, authority.size() - 2);
  e.host = authority;
  return e;
}

int msLeft(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool waitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, msLeft(deadline));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

int connectTo(const Endpoint& e, std::chrono::steady_clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (getaddrinfo(e.host.c_str(), e.port.c_str(), &hints, &list) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = list; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    int err = 0;
    socklen_t len = sizeof err;
    if (rc != 0 && (errno != EINPROGRESS || !waitFor(fd, POLLOUT, deadline) ||
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)) {
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(list);
  return fd;
}

// Sends `parts` in order with sendmsg, up to 64 of them per call (the spans, hundreds of KB in
// the workers' batch buffers, are never copied into one buffer).
bool sendAll(int fd, const std::vector<std::string_view>& parts,
             std::chrono::steady_clock::time_point deadline) {
  size_t part = 0, offset = 0;  // the first byte not yet sent
  while (part < parts.size()) {
    iovec iov[64];
    size_t count = 0;
    for (size_t i = part; i < parts.size() && count < 64; ++i) {
      size_t skip = i == part ? offset : 0;
      if (parts[i].size() > skip) {
        iov[count++] = {const_cast<char*>(parts[i].data() + skip), parts[i].size() - skip};
      }
    }
    if (count == 0) return true;
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n > 0) {
      size_t sent = static_cast<size_t>(n);
      while (part < parts.size() && sent >= parts[part].size() - offset) {
        sent -= parts[part].size() - offset;
        offset = 0;
        ++part;
      }
      offset += sent;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN && waitFor(fd, POLLOUT, deadline)) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

// Reads one response; `keep` says whether the connection can carry the next request (a body
// of known length was read whole). Returns the status, 0 on failure.
int readResponse(int fd, std::chrono::steady_clock::time_point deadline, bool* keep) {
  std::string in;
  char buf[4096];
  size_t head_end = std::string::npos;
  size_t need = 0;
  *keep = false;
  for (;;) {
    if (head_end != std::string::npos && in.size() >= head_end + 4 + need) break;
    if (!waitFor(fd, POLLIN, deadline)) return 0;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > (1u << 20)) return 0;  // a collector does not answer with a megabyte
    if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
      std::string lower = in.substr(0, head_end);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t cl = lower.find("\r\ncontent-length:");
      if (cl != std::string::npos) {
        need = std::strtoul(lower.c_str() + cl + 17, nullptr, 10);
        *keep = lower.find("\r\nconnection: close") == std::string::npos;
      }
      if (cl == std::string::npos) need = 0;  // unknown length: read what came, then close
      if (cl == std::string::npos && lower.find("chunked") == std::string::npos) break;
      if (cl == std::string::npos && in.find("\r\n0\r\n\r\n", head_end) != std::string::npos) {
        break;
      }
    } else if (head_end != std::string::npos && need == 0 &&
               in.find("\r\n0\r\n\r\n", head_end) != std::string::npos) {
      break;
    }
  }
  if (in.size() < 12 || in.compare(0, 5, "HTTP/") != 0) return 0;
  return std::atoi(in.c_str() + 9);
}

}  // namespace

SpanExporter::SpanExporter(base::MetricsRegistry& registry)
    : exported_(registry
                    .counter("sluice_tracing_spans_exported_total",
                             "Spans a collector accepted (OTLP/HTTP answered 2xx).")
                    .with({})),
      dropped_queue_full_(registry
                              .counter("sluice_tracing_spans_dropped_total",
                                       "Spans dropped: the export queue was full, or the "
                                       "collector did not take them.",
                                       {"reason"})
                              .with({"queue_full"})),
      dropped_export_failed_(registry.counter("sluice_tracing_spans_dropped_total", "", {"reason"})
                                 .with({"export_failed"})) {}

SpanExporter::~SpanExporter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  closeSocket();
}

void SpanExporter::configure(const config::Tracing* tracing) {
  bool on = tracing != nullptr && tracing->otlp.has_value();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (on) {
      endpoint_ = tracing->otlp->endpoint;
      timeout_ = tracing->otlp->timeout;
      max_queue_ = tracing->otlp->max_queue;
      service_name_ = tracing->service_name;
      json_ = tracing->otlp->json;
    }
    if (on && !thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  enabled_.store(on, std::memory_order_relaxed);
}

void SpanExporter::submit(SpanBatch& batch) {
  if (batch.spans == 0) return;
  size_t dropped = 0;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t room = max_queue_ > queued_ ? max_queue_ - queued_ : 0;
    if (batch.spans > room) {
      dropped = batch.spans - room;
      batch.bytes.resize(otlpSpansPrefix(batch.bytes, room));
      batch.spans = room;
    }
    if (batch.spans > 0) {
      queued_ += batch.spans;
      queue_.push_back(std::move(batch));
    }
    wake = queued_ >= kMaxBatch;
    batch.bytes.clear();  // moved from, or what did not fit
    if (batch.bytes.capacity() == 0 && !spare_.empty()) {
      batch.bytes.swap(spare_.back());
      spare_.pop_back();
    }
  }
  batch.spans = 0;
  if (dropped > 0) dropped_queue_full_.inc(dropped);
  if (wake) wake_.notify_one();
}

void SpanExporter::run() {
  std::string body;                          // the JSON request, or the protobuf one's envelope
  std::vector<std::string_view> body_parts;  // what is posted: body, then any batches as they are
  std::vector<SpanRecord> records;           // the JSON encoding's view of the batches
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    // A partial batch waits kDelay for company; a full one, or the stop, goes at once.
    wake_.wait_for(lock, kDelay, [&] { return stopping_ || queued_ >= kMaxBatch; });
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    // Whole worker batches up to kMaxBatch spans (one batch at least, whatever its size).
    std::vector<SpanBatch> taken;
    size_t n = 0;
    while (!queue_.empty() && (taken.empty() || n + queue_.front().spans <= kMaxBatch)) {
      n += queue_.front().spans;
      taken.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queued_ -= n;
    std::string endpoint = endpoint_, service = service_name_;
    auto timeout = timeout_;
    bool json = json_, last = stopping_;
    lock.unlock();
    body_parts.clear();
    if (json) {
      records.clear();
      for (const SpanBatch& b : taken) decodeOtlpSpans(b.bytes, records);
      body.clear();
      encodeOtlpJson(service, records, body);
      body_parts.push_back(body);
    } else {
      size_t spans_bytes = 0;
      for (const SpanBatch& b : taken) spans_bytes += b.bytes.size();
      encodeOtlpEnvelope(service, spans_bytes, body);
      body_parts.push_back(body);
      for (const SpanBatch& b : taken) body_parts.push_back(b.bytes);
    }
    bool ok = post(body_parts, endpoint, json, timeout);
    (ok ? exported_ : dropped_export_failed_).inc(n);
    for (SpanBatch& b : taken) b.bytes.clear();
    lock.lock();
    for (SpanBatch& b : taken) {
      if (spare_.size() >= kSpareBuffers) break;
      if (b.bytes.capacity() <= kSpareCapacity) spare_.push_back(std::move(b.bytes));
    }
    taken.clear();
    if (last) {  // one bounded attempt at shutdown; what is left is dropped and counted
      dropped_export_failed_.inc(queued_);
      queue_.clear();
      queued_ = 0;
      return;
    }
  }
}

void SpanExporter::closeSocket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  connected_to_.clear();
}

bool SpanExporter::post(const std::vector<std::string_view>& body, const std::string& endpoint,
                        bool json, std::chrono::milliseconds timeout) {
  size_t length = 0;
  for (std::string_view part : body) length += part.size();
  Endpoint e = splitEndpoint(endpoint);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string request =
      "POST " + e.path + " HTTP/1.1\r\nHost: " + e.host + ":" + e.port +
      "\r\nContent-Type: " + (json ? "application/json" : "application/x-protobuf") +
      "\r\nContent-Length: " + std::to_string(length) +
      "\r\nUser-Agent: sluice/" SLUICE_VERSION "\r\n\r\n";
  std::string key = e.host + ":" + e.port;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = fd_ >= 0 && connected_to_ == key;
    if (!reused) {
      closeSocket();
      fd_ = connectTo(e, deadline);
      if (fd_ < 0) return false;
      connected_to_ = key;
    }
    bool keep = false;
    std::vector<std::string_view> parts{request};
    parts.insert(parts.end(), body.begin(), body.end());
    int status = sendAll(fd_, parts, deadline) ? readResponse(fd_, deadline, &keep) : 0;
    if (status == 0 && reused && msLeft(deadline) > 0) {
      closeSocket();  // the collector closed an idle keep-alive connection: one fresh try
      continue;
    }
    if (!keep || status == 0) closeSocket();
    return status >= 200 && status < 300;
  }
  return false;
}

}  // namespace sluice::proxy::tracing
