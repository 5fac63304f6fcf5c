#include "proxy/http1/http1_response_writer.h"

namespace sluice::proxy {

using namespace std::string_view_literals;

void Http1ResponseWriter::begin(int version_minor, const RequestMeta& meta) {
  version_minor_ = version_minor;
  client_keep_alive_ = meta.keep_alive;
  client_upgrade_ = meta.upgrade;
  keep_alive_ = true;
  head_sent_ = false;
  flushed_ = false;
  ended_ = false;
  framing_ = BodyFraming::None;
  bytes_sent_ = 0;
}

void Http1ResponseWriter::end() {
  // Kept for the connection's next response (the writer lives in the connection's parse state,
  // which an idle connection frees), unless a large response grew it.
  if (out_.capacity() > kKeptCapacity) {
    std::string().swap(out_);
  } else {
    out_.clear();
  }
}

bool Http1ResponseWriter::writeOne(std::string_view bytes) {
  flushed_ = flushed_ || head_sent_;
  if (!out_.empty()) {
    out_.append(bytes);
    flush();
    return true;
  }
  uv_buf_t b = uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
  return output_.write(&b, 1);
}

void Http1ResponseWriter::flush() {
  if (out_.empty()) return;
  flushed_ = flushed_ || head_sent_;
  uv_buf_t b = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
  output_.write(&b, 1);
  out_.clear();
}

bool Http1ResponseWriter::writeRaw(const char* data, size_t len) {
  uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
  return output_.write(&b, 1);
}

void Http1ResponseWriter::sendContinue() {
  writeOne("HTTP/1.1 100 Continue\r\n\r\n"sv);
}

void Http1ResponseWriter::sendInterim(base::ResponseHead& head) {
  if (version_minor_ == 0) return;  // 1xx go to HTTP/1.1 clients only (RFC 9110 §15.2)
  removeHopByHop(head.headers, false);
  std::string out;
  appendResponseHead(head, BodyFraming::None, 0, nullptr, out);
  writeOne(out);
}

const char* Http1ResponseWriter::chooseFraming(const ResponseHeadInfo& info) {
  if (info.upgrade) {
    framing_ = BodyFraming::None;
    keep_alive_ = false;
    return "upgrade";
  }
  if (info.bodiless) {
    framing_ = BodyFraming::None;  // a HEAD/304 keeps its content-length field as is
  } else if (info.has_length) {
    framing_ = BodyFraming::Length;
  } else if (version_minor_ == 1) {
    framing_ = BodyFraming::Chunked;
  } else {
    framing_ = BodyFraming::Close;
  }
  keep_alive_ = keep_alive_ && info.keep_alive && client_keep_alive_ && !client_upgrade_ &&
                framing_ != BodyFraming::Close && !draining_.load(std::memory_order_relaxed);
  return !keep_alive_ ? "close" : (version_minor_ == 0 ? "keep-alive" : nullptr);
}

void Http1ResponseWriter::sendHeaders(base::ResponseHead& head, const ResponseHeadInfo& info) {
  const char* connection = chooseFraming(info);
  out_.reserve(out_.size() + 1024);  // the head and a small body in one allocation
  size_t before = out_.size();
  if (info.proxied != nullptr) {
    appendProxiedResponseHead(head, *info.proxied, framing_, info.length, connection, out_);
  } else {
    appendResponseHead(head, framing_, info.length, connection, out_);
  }
  bytes_sent_ += out_.size() - before;
  head_sent_ = true;
  ended_ = false;
}

void Http1ResponseWriter::sendData(const char* data, size_t len) {
  if (len == 0) return;
  bytes_sent_ += len;
  bool chunked = framing_ == BodyFraming::Chunked;
  if (!out_.empty() && len <= kCoalesceLimit) {  // small: one write(2) with the head
    if (chunked) {
      char hdr[24];
      size_t hn = formatChunkHeader(len, hdr);
      bytes_sent_ += hn + 2;
      out_.append(hdr, hn);
    }
    out_.append(data, len);
    if (chunked) out_.append("\r\n"sv);
    return;
  }
  uv_buf_t bufs[4];
  unsigned n = 0;
  if (!out_.empty()) bufs[n++] = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
  char hdr[24];
  if (chunked) {
    size_t hn = formatChunkHeader(len, hdr);
    bytes_sent_ += hn + 2;
    bufs[n++] = uv_buf_init(hdr, static_cast<unsigned>(hn));
  }
  bufs[n++] = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
  if (chunked) bufs[n++] = uv_buf_init(const_cast<char*>("\r\n"), 2);
  flushed_ = true;
  output_.write(bufs, n);
  out_.clear();
}

void Http1ResponseWriter::sendTrailers(const base::HeaderMap& trailers) {
  if (framing_ != BodyFraming::Chunked || ended_) return;  // only chunked framing carries them
  size_t before = out_.size();
  appendLastChunk(trailers, out_);
  bytes_sent_ += out_.size() - before;
  ended_ = true;
}

void Http1ResponseWriter::sendEnd() {
  if (framing_ == BodyFraming::Chunked && !ended_) {
    bytes_sent_ += sizeof kLastChunk - 1;
    out_.append(kLastChunk);
  }
  ended_ = true;
  if (client_keep_alive_ || client_upgrade_ || out_.empty()) {
    flush();
    return;
  }
  // The client asked to close: nothing but the FIN follows these bytes.
  flushed_ = flushed_ || head_sent_;
  uv_buf_t b = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
  output_.writeBeforeClose(&b, 1);
  out_.clear();
}

bool Http1ResponseWriter::takeBackHead() {
  if (!head_sent_ || flushed_) return false;
  bytes_sent_ -= out_.size();
  out_.clear();
  head_sent_ = false;
  return true;
}

}  // namespace sluice::proxy
