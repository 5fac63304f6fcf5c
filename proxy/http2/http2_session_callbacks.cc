// nghttp2's callbacks for a server session (Http2ServerSession is the user data): streams are
// made at the first HEADERS and destroyed when nghttp2 closes them; header fields, DATA and the
// ends go to the stream; the hostile-client bounds are counted at frame boundaries (raw header
// block bytes, SETTINGS, PING, empty DATA, resets of unanswered streams, refused streams).
#include <nghttp2/nghttp2.h>

#include "proxy/http2/http2_session.h"
#include "proxy/http2/http2_stream.h"

namespace sluice::proxy {

namespace {
// A header block whose wire bytes pass this multiple of the header list budget is a flood: it
// is refused with 431 at a much smaller size, so only a client that ignores that sends more.
constexpr uint64_t kBlockFloodFactor = 4;
// Decoded bytes past this multiple of the budget in one block (an HPACK bomb: tiny references
// to a large table entry) end the connection instead of costing more decoding.
constexpr uint64_t kBombFactor = 4;
}  // namespace

struct Http2Callbacks {
  static Http2ServerSession& self(void* user) { return *static_cast<Http2ServerSession*>(user); }

  static Http2Stream* stream(nghttp2_session* s, int32_t id) {
    return static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(s, id));
  }

  static int onBeginFrame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user) {
    Http2ServerSession& h = self(user);
    uint64_t now = uv_now(h.ctx_.loop);
    // A header block is HEADERS then CONTINUATION frames up to END_HEADERS, with no other frame
    // between (nghttp2 refuses anything else): tracked from the frame headers alone.
    if (hd->type != NGHTTP2_CONTINUATION) h.block_stream_ = 0;
    switch (hd->type) {
      case NGHTTP2_HEADERS:
        h.block_bytes_ = hd->length;
        if ((hd->flags & NGHTTP2_FLAG_END_HEADERS) == 0) {
          h.block_stream_ = hd->stream_id;
          h.block_start_ms_ = now;
        }
        if (hd->stream_id > h.last_stream_seen_ && (hd->stream_id & 1) != 0 &&
            h.streams_.size() >= h.settings_.max_concurrent_streams && !h.terminated_) {
          h.count(Http2Abuse::StreamExhaustion);  // nghttp2 refuses it
        }
        if (!h.noteStreamId(hd->stream_id)) {
          h.calm(Http2Abuse::Protocol, NGHTTP2_PROTOCOL_ERROR);
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        break;
      case NGHTTP2_CONTINUATION:
        h.block_bytes_ += hd->length;
        if ((hd->flags & NGHTTP2_FLAG_END_HEADERS) != 0) h.block_stream_ = 0;
        if (h.block_bytes_ >
            kBlockFloodFactor * h.settings_.max_header_list_size + h.settings_.max_frame_size) {
          h.calm(Http2Abuse::ContinuationFlood);
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        break;
      case NGHTTP2_SETTINGS:
        if ((hd->flags & NGHTTP2_FLAG_ACK) == 0 && h.guard_.noteSettings(now)) {
          h.calm(Http2Abuse::SettingsFlood);
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        break;
      case NGHTTP2_PING:
        if ((hd->flags & NGHTTP2_FLAG_ACK) == 0 && h.guard_.notePing(now)) {
          h.calm(Http2Abuse::PingFlood);
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        break;
      case NGHTTP2_DATA:
        if (hd->length == 0 && (hd->flags & NGHTTP2_FLAG_END_STREAM) == 0 &&
            h.guard_.noteEmptyFrame(now)) {
          h.calm(Http2Abuse::EmptyFrames);
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        break;
      default:
        break;
    }
    return 0;
  }

  static int onBeginHeaders(nghttp2_session* s, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    Http2ServerSession& h = self(user);
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      if (h.streams_.empty()) h.transport_.setIdle(false);  // busy: not closed to make room
      auto* st = new Http2Stream(h, frame->hd.stream_id);
      h.addStream(st);
      h.idle_since_ms_ = 0;
      h.seen_request_ = true;
      nghttp2_session_set_stream_user_data(s, frame->hd.stream_id, st);
      h.block_target_ = st;
    } else if (Http2Stream* st = stream(s, frame->hd.stream_id)) {
      st->beginTrailers();
      h.block_target_ = st;
    }
    return 0;
  }

  // The stream whose header block is being decoded: the one onBeginHeaders named (its fields
  // come right after it), else by lookup.
  static Http2Stream* blockStream(Http2ServerSession& h, nghttp2_session* s, int32_t id) {
    Http2Stream* st = h.block_target_;
    if (st != nullptr && st->id() == id) return st;
    return stream(s, id);
  }

  static int onHeader(nghttp2_session* s, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    Http2ServerSession& h = self(user);
    Http2Stream* st = blockStream(h, s, frame->hd.stream_id);
    if (st == nullptr) return 0;
    st->addField(std::string_view(reinterpret_cast<const char*>(name), namelen),
                 std::string_view(reinterpret_cast<const char*>(value), valuelen));
    if (st->headerListSize() > kBombFactor * h.settings_.max_header_list_size + 65536) {
      h.calm(h.block_bytes_ * kBombFactor < st->headerListSize() ? Http2Abuse::HpackBomb
                                                                 : Http2Abuse::ContinuationFlood);
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
  }

  static int onFrameRecv(nghttp2_session* s, const nghttp2_frame* frame, void* user) {
    Http2ServerSession& h = self(user);
    int32_t id = frame->hd.stream_id;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        if (Http2Stream* st = blockStream(h, s, id)) {
          h.block_target_ = nullptr;
          st->onHeaders((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0);
        }
        break;
      case NGHTTP2_DATA:
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
          if (Http2Stream* st = stream(s, id)) st->onRequestEnd();
        }
        break;
      case NGHTTP2_RST_STREAM:
        if (Http2Stream* st = stream(s, id)) {
          if (st->unanswered() && h.guard_.noteReset(uv_now(h.ctx_.loop))) {
            h.calm(Http2Abuse::RapidReset);
            return NGHTTP2_ERR_CALLBACK_FAILURE;
          }
        }
        break;
      default:
        break;
    }
    return 0;
  }

  static int onDataChunk(nghttp2_session* s, uint8_t, int32_t id, const uint8_t* data, size_t len,
                         void*) {
    // The connection's window goes back at once: a stream's own window bounds what it may hold,
    // so one slow upstream never stalls the other streams' uploads.
    nghttp2_session_consume_connection(s, len);
    if (Http2Stream* st = stream(s, id)) {
      st->onData(data, len);
    }
    return 0;
  }

  static int onStreamClose(nghttp2_session* s, int32_t id, uint32_t error_code, void* user) {
    Http2ServerSession& h = self(user);
    if (Http2Stream* st = stream(s, id)) {
      nghttp2_session_set_stream_user_data(s, id, nullptr);
      if (h.block_target_ == st) h.block_target_ = nullptr;
      st->onClosed(error_code);
      h.removeStream(st);
    }
    return 0;
  }

  static int onFrameSend(nghttp2_session* s, const nghttp2_frame* frame, void*) {
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      if (Http2Stream* st = stream(s, frame->hd.stream_id)) st->onResponseSent();
    }
    return 0;
  }
};

const nghttp2_session_callbacks* http2ServerCallbacks() {
  static nghttp2_session_callbacks* callbacks = [] {
    nghttp2_session_callbacks* c = nullptr;
    if (nghttp2_session_callbacks_new(&c) != 0) return c;
    nghttp2_session_callbacks_set_on_begin_frame_callback(c, Http2Callbacks::onBeginFrame);
    nghttp2_session_callbacks_set_on_begin_headers_callback(c, Http2Callbacks::onBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(c, Http2Callbacks::onHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(c, Http2Callbacks::onFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, Http2Callbacks::onDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(c, Http2Callbacks::onStreamClose);
    nghttp2_session_callbacks_set_on_frame_send_callback(c, Http2Callbacks::onFrameSend);
    return c;
  }();
  return callbacks;
}

}  // namespace sluice::proxy
