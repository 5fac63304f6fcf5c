#include "proxy/upstream/h2/h2_stream.h"

#include <cstring>
#include <vector>

#include "proxy/upstream/h2/h2_request_fields.h"
#include "proxy/upstream/h2/h2_session.h"

namespace sluice::proxy {

UpstreamHandler* H2Stream::release() {
  UpstreamHandler* h = handler_;
  handler_ = nullptr;
  return h;
}

void H2Stream::requestDone() {
  request_done_ = true;
  uint64_t now = uv_now(session_->loop_);
  last_read_ = now;
  deadline_ms_ = now + static_cast<uint64_t>(timeouts_.response.count());
}

void H2Stream::sendRequest(const RequestStart& start, std::string_view body, bool end,
                           const base::HeaderMap& trailers) {
  H2Session* s = session_;
  if (s->state_ != H2Session::State::Ready || !live()) {
    closed_ = true;
    if (UpstreamHandler* h = release()) h->onUpstreamError(UpstreamError::Reset, false);
    return;
  }
  base::RequestHead scratch;  // filled only when the owner's head needs edits applied
  const base::RequestHead& head = start.head->requestHead(*start.target, scratch);
  H2RequestFields fields;
  buildH2RequestFields(head, s->tls_ != nullptr, start.framing, start.length, fields);
  send_buf_.assign(body.data(), body.size());
  send_end_ = end;
  if (end) send_trailers_ = trailers;
  // Without a body (and trailers) the HEADERS frame ends the stream.
  bool bodiless = end && body.empty() && trailers.empty();
  nghttp2_data_provider prd;
  prd.source.ptr = this;
  prd.read_callback = readBody;
  int32_t id = nghttp2_submit_request(s->ng_, nullptr, fields.nv.data(), fields.nv.size(),
                                      bodiless ? nullptr : &prd, this);
  if (id < 0) {
    closed_ = true;
    if (UpstreamHandler* h = release()) h->onUpstreamError(UpstreamError::Reset, false);
    return;
  }
  id_ = id;
  if (bodiless) requestDone();
  s->flush();
}

ssize_t H2Stream::readBody(nghttp2_session* ng, int32_t id, uint8_t* buf, size_t length,
                           uint32_t* flags, nghttp2_data_source* source, void*) {
  auto* st = static_cast<H2Stream*>(source->ptr);
  size_t have = st->send_buf_.size() - st->send_off_;
  size_t n = have < length ? have : length;
  if (n > 0) {
    std::memcpy(buf, st->send_buf_.data() + st->send_off_, n);
    st->send_off_ += n;
  }
  if (st->send_off_ == st->send_buf_.size()) {
    bool had = !st->send_buf_.empty();
    st->send_buf_.clear();
    st->send_off_ = 0;
    if (had && !st->send_end_) st->drained_ = true;
    if (st->send_end_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!st->send_trailers_.empty()) {
        // Trailers end the stream in their own HEADERS frame.
        std::vector<nghttp2_nv> nv;  // no owned strings: they point into send_trailers_
        nv.reserve(st->send_trailers_.size());
        for (const base::Header& h : st->send_trailers_) {
          if (!h2TrailerAllowed(h.name)) continue;
          nv.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(h.name.data())),
                                  reinterpret_cast<uint8_t*>(const_cast<char*>(h.value.data())),
                                  h.name.size(), h.value.size(), NGHTTP2_NV_FLAG_NONE});
        }
        if (!nv.empty() && nghttp2_submit_trailer(ng, id, nv.data(), nv.size()) == 0) {
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
      }
      st->requestDone();
    } else if (n == 0) {
      st->deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

bool H2Stream::sendBody(const char* data, size_t len) {
  if (!live() || id_ < 0) return false;
  if (len == 0) return true;
  if (send_off_ > 0 && send_off_ == send_buf_.size()) {
    send_buf_.clear();
    send_off_ = 0;
  }
  send_buf_.append(data, len);
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_->ng_, id_);
  }
  session_->flush();
  return live();
}

bool H2Stream::endRequest(const base::HeaderMap& trailers) {
  if (!live() || id_ < 0) return false;
  send_end_ = true;
  send_trailers_ = trailers;
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_->ng_, id_);
  }
  session_->flush();
  return live();
}

void H2Stream::resumeReading() {
  if (!paused_) return;
  paused_ = false;
  last_read_ = uv_now(session_->loop_);  // time paused by sluice is not the upstream's silence
  if (unconsumed_ > 0 && !closed_ && id_ > 0 && session_->ng_ != nullptr) {
    nghttp2_session_consume_stream(session_->ng_, id_, unconsumed_);
    unconsumed_ = 0;
    session_->flush();  // the WINDOW_UPDATE
  }
}

void H2Stream::abandon() {
  handler_ = nullptr;
  if (closed_) return;
  if (id_ < 0) {  // never submitted: nothing to tell the server
    closed_ = true;
    return;
  }
  if (session_->state_ == H2Session::State::Ready) {
    nghttp2_submit_rst_stream(session_->ng_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    session_->flush();
  }
}

}  // namespace sluice::proxy
