// The receiving half of H2Session: nghttp2's callbacks for what the server sends (response
// heads and 1xx, body data, trailers, SETTINGS, GOAWAY, stream ends) turned into UpstreamHandler
// events of the streams. They run inside nghttp2_session_mem_recv/mem_send: nothing here
// flushes or frees (the session's depth counter defers both).
#include <string_view>

#include "proxy/upstream/h2/h2_pool.h"
#include "proxy/upstream/h2/h2_session.h"

namespace sluice::proxy {

namespace {
H2Session* self(void* user) {
  return static_cast<H2Session*>(user);
}
}  // namespace

const nghttp2_session_callbacks* H2Session::callbacks() {
  static nghttp2_session_callbacks* cbs = [] {
    nghttp2_session_callbacks* c = nullptr;
    if (nghttp2_session_callbacks_new(&c) != 0) return c;  // null: startSession fails
    nghttp2_session_callbacks_set_on_begin_headers_callback(c, onBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(c, onHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(c, onFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, onDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(c, onStreamClose);
    return c;
  }();
  return cbs;
}

int H2Session::onBeginHeaders(nghttp2_session* ng, const nghttp2_frame* frame, void*) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  auto* st = static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id));
  if (st == nullptr) return 0;
  st->in_trailers_ = st->final_head_;
  if (!st->in_trailers_) {
    st->head_.status = 0;
    st->head_.headers.clear();
    st->head_bytes_ = 0;
  }
  return 0;
}

int H2Session::onHeader(nghttp2_session* ng, const nghttp2_frame* frame, const uint8_t* name,
                        size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void*) {
  auto* st = static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id));
  if (st == nullptr || !st->live()) return 0;
  st->head_bytes_ += namelen + valuelen + 4;
  if (st->head_bytes_ > kMaxUpstreamHead) {  // as HTTP/1.1: too big a head is a bad response
    st->bad_ = true;
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
  }
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (st->in_trailers_) {
    if (!n.empty() && n[0] != ':') st->trailers_.add(std::string(n), std::string(v));
    return 0;
  }
  if (n == ":status") {
    int status = 0;
    for (char c : v) status = status * 10 + (c - '0');  // nghttp2 checked: 3 digits
    st->head_.status = status;
  } else if (!n.empty() && n[0] != ':') {
    st->head_.headers.add(std::string(n), std::string(v));
  }
  return 0;
}

int H2Session::onFrameRecv(nghttp2_session* ng, const nghttp2_frame* frame, void* user) {
  H2Session* s = self(user);
  if (s->state_ == State::Closed) return 0;
  switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
      s->remote_max_ =
          nghttp2_session_get_remote_settings(ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
      s->pool_->noteRemoteMax(s->key_, s->remote_max_);
      return 0;
    case NGHTTP2_GOAWAY:
      // No new streams here; nghttp2 closes those above last_stream_id as REFUSED_STREAM.
      s->goaway_ = true;
      return 0;
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
      break;
    default:
      return 0;
  }
  auto* st = static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id));
  if (st == nullptr || !st->live()) return 0;
  st->last_read_ = uv_now(s->loop_);
  st->touched_ = true;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (st->in_trailers_) {
      if (!st->trailers_.empty()) st->handler_->onUpstreamTrailers(st->trailers_);
    } else {
      int status = st->head_.status;
      bool interim = status >= 100 && status < 200;
      st->response_started_ = true;
      st->head_.version_major = 2;  // Via says "2 sluice"
      st->head_.version_minor = 0;  // (HTTP/2.0; only version_major is read)
      st->head_.reason.clear();
      if (!interim) st->final_head_ = true;
      st->handler_->onUpstreamHead(st->head_, interim);
    }
  }
  if (st->live() && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) s->complete(st);
  return 0;
}

// The server ended its side: the response is complete for the owner. If the request is still
// going out, the stream is reset (RFC 9113 §8.1: the server has answered without it).
void H2Session::complete(H2Stream* st) {
  UpstreamHandler* h = st->release();
  if (!st->request_done_ && st->id_ > 0) {
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, st->id_, NGHTTP2_NO_ERROR);
  }
  h->onUpstreamComplete();
}

int H2Session::onDataChunk(nghttp2_session* ng, uint8_t, int32_t id, const uint8_t* data,
                           size_t len, void* user) {
  H2Session* s = self(user);
  // The connection window reopens at once: only stream windows wait for their owners.
  nghttp2_session_consume_connection(ng, len);
  auto* st = static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(ng, id));
  if (st == nullptr || !st->live() || s->state_ == State::Closed) {
    nghttp2_session_consume_stream(ng, id, len);
    return 0;
  }
  st->last_read_ = uv_now(s->loop_);
  st->touched_ = true;
  st->response_started_ = true;
  st->handler_->onUpstreamBody(reinterpret_cast<const char*>(data), len);
  if (st->live() && st->paused_) {
    st->unconsumed_ += len;
  } else {
    nghttp2_session_consume_stream(ng, id, len);
  }
  return 0;
}

int H2Session::onStreamClose(nghttp2_session* ng, int32_t id, uint32_t error_code, void* user) {
  H2Session* s = self(user);
  auto* st = static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(ng, id));
  if (st == nullptr || s->state_ == State::Closed) return 0;
  s->streamClosed(st, error_code);
  return 0;
}

void H2Session::streamClosed(H2Stream* st, uint32_t error_code) {
  st->closed_ = true;
  if (st->handler_ == nullptr) return;
  bool started = st->response_started_;
  UpstreamHandler* h = st->release();
  UpstreamError e = UpstreamError::Reset;
  if (st->bad_) {
    e = UpstreamError::BadResponse;
  } else if (error_code == NGHTTP2_REFUSED_STREAM && !started) {
    e = UpstreamError::Refused;  // not processed: safe to send again
  } else if (error_code == NGHTTP2_PROTOCOL_ERROR) {
    e = UpstreamError::BadResponse;
  }
  h->onUpstreamError(e, started);
}

}  // namespace sluice::proxy
