#include "proxy/http2/http2_session.h"

#include <algorithm>

#include "proxy/http2/http2_stream.h"
#include "proxy/net/read_buffer.h"
#include "proxy/runtime/log.h"

namespace sluice::proxy {

namespace {

// One send pass writes at most this much before handing it to the transport, and stops pulling
// stream data while the transport holds bytes the kernel did not take.
constexpr size_t kSendChunk = 64 * 1024;

// A drain's final GOAWAY follows its notice after this long (about a round trip, so streams the
// client sent meanwhile are still counted in; RFC 9113 §6.8).
constexpr uint64_t kDrainGraceMs = 1000;

// The output of a send pass, shared by the worker's sessions (each pass writes it out whole
// before returning).
thread_local std::string tl_out;
thread_local bool tl_out_busy = false;

}  // namespace

const nghttp2_session_callbacks* http2ServerCallbacks();  // http2_session_callbacks.cc

Http2ServerSession::Http2ServerSession(WorkerContext& ctx, Http2Transport& transport,
                                       const config::Http2Settings& settings)
    : ctx_(ctx), transport_(transport), settings_(settings) {
  ctx.metrics.http2.connections_total->inc();
  ctx.metrics.http2.connections_active->add(1);
  const config::Limits& limits = ctx.snapshot->config->limits;
  request_limits_.max_header_list_size = settings.max_header_list_size;
  request_limits_.max_header_bytes = limits.max_header_bytes;
  request_limits_.max_headers = limits.max_headers;
  request_limits_.max_body_bytes = limits.max_body_bytes;
}

Http2ServerSession::~Http2ServerSession() {
  // Streams end with the connection: their exchanges log what the client did not get.
  for (Http2Stream* s : streams_) {
    s->onClosed(NGHTTP2_CANCEL);
    delete s;
  }
  ctx_.metrics.http2.streams_active->sub(static_cast<double>(streams_.size()));
  ctx_.metrics.http2.connections_active->sub(1);
  streams_.clear();
  if (session_ != nullptr) nghttp2_session_del(session_);
}

bool Http2ServerSession::start() {
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) return false;
  // sluice gives window back only for bytes an exchange took (flow control end to end).
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_settings(opt, 32);        // entries in one SETTINGS frame
  nghttp2_option_set_max_outbound_ack(opt, 1000);  // ACKs queued for a client that won't read
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);  // our HPACK encoder's table
  // A header block may need this many CONTINUATION frames at the client's largest frames
  // (frames cannot be larger than our max_frame_size); more is a flood.
  nghttp2_option_set_max_continuations(
      opt, std::max<size_t>(8, settings_.max_header_list_size / 1024 + 2));
  int rc = nghttp2_session_server_new2(&session_, http2ServerCallbacks(), this, opt);
  nghttp2_option_del(opt);
  if (rc != 0) {
    session_ = nullptr;
    return false;
  }
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE,
       static_cast<uint32_t>(settings_.initial_stream_window)},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, static_cast<uint32_t>(settings_.max_frame_size)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<uint32_t>(settings_.max_header_list_size)},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0) {
    return false;
  }
  if (nghttp2_session_set_local_window_size(
          session_, NGHTTP2_FLAG_NONE, 0,
          static_cast<int32_t>(settings_.initial_connection_window)) != 0) {
    return false;
  }
  if (!sender_.init(ctx_.loop, "http2 send", [this] {
        sender_.stop();
        sendNow();
      })) {
    return false;
  }
  idle_since_ms_ = uv_now(ctx_.loop);
  sendNow();
  return true;
}

void Http2ServerSession::feed(const char* data, size_t len) {
  if (closing_ || session_ == nullptr) return;
  in_recv_ = true;
  ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), len);
  in_recv_ = false;
  if (rv < 0) {
    fail(static_cast<int>(rv));
    return;
  }
  sendNow();
}

// A fatal error from nghttp2 (mem_recv or mem_send): GOAWAY if it can still go out, then close.
void Http2ServerSession::fail(int error) {
  if (!terminated_) {
    Http2Abuse reason = Http2Abuse::Protocol;
    uint32_t code = NGHTTP2_PROTOCOL_ERROR;
    if (error == NGHTTP2_ERR_FLOODED) {
      reason = Http2Abuse::AckFlood;
      code = NGHTTP2_ENHANCE_YOUR_CALM;
    } else if (error == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) {
      reason = Http2Abuse::ContinuationFlood;
      code = NGHTTP2_ENHANCE_YOUR_CALM;
    } else if (error == NGHTTP2_ERR_TOO_MANY_SETTINGS) {
      reason = Http2Abuse::SettingsFlood;
      code = NGHTTP2_ENHANCE_YOUR_CALM;
    } else if (error == NGHTTP2_ERR_NOMEM || error == NGHTTP2_ERR_CALLBACK_FAILURE) {
      code = NGHTTP2_INTERNAL_ERROR;
    }
    if (error != NGHTTP2_ERR_NOMEM && error != NGHTTP2_ERR_CALLBACK_FAILURE) count(reason);
    terminated_ = true;
    nghttp2_session_terminate_session(session_, code);
  }
  if (error == NGHTTP2_ERR_FLOODED) {  // the client does not read: nothing more can go out
    closeTransport();
    return;
  }
  sendNow();
  closeTransport();
}

void Http2ServerSession::scheduleSend() {
  if (in_recv_ || in_send_ || closing_) return;  // the running pass, or feed(), sends it
  if (!sender_.active() && !sender_.start()) sendNow();
}

void Http2ServerSession::sendNow() {
  if (in_recv_ || in_send_ || session_ == nullptr) return;
  if (closing_ && !terminated_) return;
  in_send_ = true;
  std::string local;
  bool shared = !tl_out_busy;
  std::string& out = shared ? tl_out : local;
  tl_out_busy = true;
  bool ok = true;
  for (;;) {
    const uint8_t* p = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &p);
    if (n < 0) {
      ok = false;
      break;
    }
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    if (out.size() >= kSendChunk) {
      uv_buf_t b = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
      bool written = transport_.write(&b, 1);
      out.clear();
      if (!written) break;
      // The kernel's buffer is full: the rest waits for onTransportWritten (stream data stays
      // in its stream, where it holds back that stream's upstream).
      if (transport_.writeQueued() > 0) break;
    }
  }
  if (!out.empty()) {
    uv_buf_t b = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
    transport_.write(&b, 1);
    out.clear();
  }
  if (shared) {
    tl_out_busy = false;
    if (out.capacity() > 4 * kSendChunk) std::string().swap(out);
  }
  in_send_ = false;
  if (!ok) {
    closeTransport();
    return;
  }
  if (terminated_ || goaway_final_) {
    if (nghttp2_session_want_write(session_) == 0 &&
        (streams_.empty() || nghttp2_session_want_read(session_) == 0)) {
      closeTransport();
      return;
    }
  } else if (nghttp2_session_want_read(session_) == 0 &&
             nghttp2_session_want_write(session_) == 0) {
    closeTransport();  // the client sent GOAWAY and every stream is over
    return;
  }
  if (!paused_input_ && transport_.writeQueued() > kHighWatermark) {
    paused_input_ = true;  // the client does not read what it asks for: stop reading it
    transport_.pauseReading();
  }
  if (streams_.empty() && idle_since_ms_ == 0) idle_since_ms_ = uv_now(ctx_.loop);
  notifyDrained();
}

void Http2ServerSession::onTransportWritten() {
  if (transport_.writeQueued() > 0) return;
  if (paused_input_ && !closing_) {
    paused_input_ = false;
    transport_.resumeReading();
  }
  sendNow();
}

void Http2ServerSession::waitForDrain(int32_t stream_id) {
  if (std::find(drain_waiters_.begin(), drain_waiters_.end(), stream_id) == drain_waiters_.end()) {
    drain_waiters_.push_back(stream_id);
  }
}

void Http2ServerSession::notifyDrained() {
  if (drain_waiters_.empty()) return;
  std::vector<int32_t> waiting;
  waiting.swap(drain_waiters_);
  for (int32_t id : waiting) {
    Http2Stream* s = stream(id);
    if (s == nullptr) continue;
    if (s->queuedBytes() > 0) {
      drain_waiters_.push_back(id);
      continue;
    }
    s->notifyDrained();
  }
}

Http2Stream* Http2ServerSession::stream(int32_t id) {
  return static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(session_, id));
}

void Http2ServerSession::addStream(Http2Stream* s) {
  s->setSlot(streams_.size());
  streams_.push_back(s);
  ctx_.metrics.http2.streams_total->inc();
  ctx_.metrics.http2.streams_active->add(1);
}

void Http2ServerSession::removeStream(Http2Stream* s) {
  size_t slot = s->slot();
  if (slot >= streams_.size() || streams_[slot] != s) return;
  streams_[slot] = streams_.back();
  streams_[slot]->setSlot(slot);
  streams_.pop_back();
  ctx_.metrics.http2.streams_active->sub(1);
  if (streams_.empty()) {
    idle_since_ms_ = uv_now(ctx_.loop);
    if (!closing_) transport_.setIdle(true);
  }
  delete s;
}

void Http2ServerSession::count(Http2Abuse reason) {
  ctx_.metrics.http2_protocol_errors_total.with({http2AbuseName(reason)}).inc();
}

bool Http2ServerSession::noteStreamId(int32_t id) {
  auto bit = [](int32_t x) { return static_cast<size_t>((x >> 1) % kOpenedWindow); };
  if ((id & 1) == 0) return true;  // nghttp2 refuses even ids itself
  if (id > last_stream_seen_) {
    if (id - last_stream_seen_ >= 2 * kOpenedWindow) {
      opened_.reset();
    } else {
      for (int32_t skipped = last_stream_seen_ + 2; skipped < id; skipped += 2) {
        opened_.reset(bit(skipped));  // idle ids passed over are closed for good
      }
    }
    opened_.set(bit(id));
    last_stream_seen_ = id;
    return true;
  }
  if (id == last_stream_seen_ || last_stream_seen_ - id >= 2 * kOpenedWindow) return true;
  return opened_.test(bit(id));  // a late trailer block of a stream that was opened is fine
}

void Http2ServerSession::calm(Http2Abuse reason, uint32_t code) {
  if (terminated_) return;
  count(reason);
  terminated_ = true;
  nghttp2_session_terminate_session(session_, code);
  if (!in_recv_) {
    sendNow();
    closeTransport();
  }
}

void Http2ServerSession::closeTransport() {
  if (closing_) return;
  closing_ = true;
  sender_.stop();
  transport_.closeAfterGoaway();
}

void Http2ServerSession::drain() {
  if (draining_ || closing_ || terminated_) return;
  draining_ = true;
  if (streams_.empty()) {
    drain_at_ms_ = uv_now(ctx_.loop);
  } else {
    nghttp2_submit_shutdown_notice(session_);
    drain_at_ms_ = uv_now(ctx_.loop) + kDrainGraceMs;
  }
  checkDeadline(uv_now(ctx_.loop));
  sendNow();
}

void Http2ServerSession::checkDeadline(uint64_t now_ms) {
  if (closing_ || session_ == nullptr) return;
  const config::Limits& limits = ctx_.snapshot->config->limits;
  if (draining_ && !goaway_final_ && now_ms >= drain_at_ms_) {
    goaway_final_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    sendNow();
    return;
  }
  if (block_stream_ != 0 &&
      now_ms - block_start_ms_ >= static_cast<uint64_t>(limits.header_timeout.count())) {
    calm(Http2Abuse::HeaderTimeout);  // a header block that never ends holds the connection
    return;
  }
  if (streams_.empty()) {
    uint64_t limit = static_cast<uint64_t>(
        (seen_request_ ? limits.idle_timeout : limits.header_timeout).count());
    if (idle_since_ms_ != 0 && now_ms - idle_since_ms_ >= limit) {
      terminated_ = true;  // idle: GOAWAY (NO_ERROR), then close
      nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
      sendNow();
      closeTransport();
    }
    return;
  }
  // By id: a stream's timeout may end others (through its exchange), which nghttp2 then forgets.
  sweep_ids_.clear();
  for (Http2Stream* s : streams_) sweep_ids_.push_back(s->id());
  bool connection_stalled = false;
  for (int32_t id : sweep_ids_) {
    Http2Stream* s = stream(id);
    if (s == nullptr) continue;
    bool conn_window = s->stalledOnConnectionWindow();
    if (s->checkDeadline(now_ms) && conn_window) connection_stalled = true;
  }
  if (connection_stalled) {
    // The client gives no connection window at all: every stream is stuck behind it.
    terminated_ = true;
    nghttp2_session_terminate_session(session_, NGHTTP2_FLOW_CONTROL_ERROR);
    sendNow();
    closeTransport();
    return;
  }
  sendNow();
}

}  // namespace sluice::proxy
