#include "proxy/upstream/background_fetch.h"

#include "proxy/http1/http_serialize.h"

namespace sluice::proxy {

namespace {
// How often an in-flight fetch looks whether the process started draining (then it gives up:
// a refresh is not worth holding the worker's shutdown for).
constexpr uint64_t kCheckMs = 200;
}  // namespace

void BackgroundFetch::start(WorkerContext& ctx, SnapshotPtr snapshot, int upstream_index,
                            base::RequestHead head, size_t max_body, filters::BackgroundDone done,
                            std::chrono::milliseconds timeout) {
  BackgroundOptions options;
  options.timeout = timeout;
  start(ctx, std::move(snapshot), upstream_index, std::move(head), max_body, std::move(done),
        std::move(options));
}

void BackgroundFetch::start(WorkerContext& ctx, SnapshotPtr snapshot, int upstream_index,
                            base::RequestHead head, size_t max_body, filters::BackgroundDone done,
                            BackgroundOptions options) {
  auto* f = new BackgroundFetch(ctx, std::move(snapshot), upstream_index, std::move(head), max_body,
                                std::move(done));
  f->options_ = std::move(options);
  // The first tick of the timer starts the fetch, so `done` never runs inside start().
  if (!f->check_.start(0, kCheckMs)) f->finish(false);  // logged; `done` runs at once then
}

BackgroundFetch::BackgroundFetch(WorkerContext& ctx, SnapshotPtr snapshot, int upstream_index,
                                 base::RequestHead head, size_t max_body,
                                 filters::BackgroundDone done)
    : ctx_(ctx),
      snapshot_(std::move(snapshot)),
      upstream_index_(upstream_index),
      head_(std::move(head)),
      max_body_(max_body),
      done_(std::move(done)),
      connector_(ctx) {
  check_.init(ctx_.loop, "background fetch", [this] { onCheck(); });
}

void BackgroundFetch::onCheck() {
  BackgroundFetch* self = this;
  bool draining = self->ctx_.shared.draining.load(std::memory_order_relaxed);
  if (self->started_) {
    if (draining) {
      self->request_.reset();
      self->finish(false);
    }
    return;
  }
  self->started_ = true;  // the first tick: start
  if (self->options_.timeout.count() > 0) {
    if (!self->deadline_.init(self->ctx_.loop, "background fetch timeout",
                              [self] {
                                self->request_.reset();
                                self->finish(false);
                              }) ||
        !self->deadline_.start(static_cast<uint64_t>(self->options_.timeout.count()))) {
      self->finish(false);  // logged; an unbounded auth check is not what was asked for
      return;
    }
  }
  int i = self->upstream_index_;
  if (draining || i < 0 || static_cast<size_t>(i) >= self->snapshot_->upstreams.size()) {
    self->finish(false);
    return;
  }
  self->head_.headers.remove("expect");
  UpstreamRequest::Params p;
  p.snapshot = self->snapshot_.get();
  p.upstream_index = static_cast<size_t>(i);
  p.idempotent = base::isIdempotentMethod(self->head_.method);
  p.head_only = self->head_.method == "HEAD";
  p.try_timeout = self->options_.timeout;  // each try within the bound too (a 504, no retry)
  p.retry = self->options_.retry;
  self->body_length_ = self->options_.body.size();
  if (self->body_length_ > 0) {
    p.framing = BodyFraming::Length;
    p.length = self->body_length_;
  }
  self->request_.emplace(self->ctx_, self->connector_, std::move(p),
                         static_cast<UpstreamRequestCallbacks&>(*self));
  self->request_->start(std::move(self->options_.body), true);  // may finish at once
}

void BackgroundFetch::writeRequestHead(const ResolvedTarget& target, std::string& out) {
  if (head_.host.empty()) head_.host = target.name;
  appendRequestHead(head_, body_length_ > 0 ? BodyFraming::Length : BodyFraming::None, body_length_,
                    out);
}

void BackgroundFetch::onResponseHead(base::ResponseHead& head, bool interim) {
  if (interim) return;
  if (head.status == 101) {  // nothing asked for an upgrade
    request_->fail(UpstreamError::BadResponse);
    return;
  }
  response_.status = head.status;
  response_.headers = head.headers;
  // As a response reaches the filters of an Exchange: hop by hop fields gone, Via and Date set.
  base::HeaderMap& h = response_.headers;
  removeHopByHop(h, false);
  h.appendToList("via", "1.1 sluice");
  if (!h.has("date")) h.add("date", ctx_.httpDate());
}

void BackgroundFetch::onResponseBody(const char* data, size_t len) {
  if (options_.body_sink) {
    options_.body_sink(data, len);
    return;
  }
  if (response_.body.size() + len > max_body_) {
    // Not wanted whole: the connection goes, the fetch fails.
    std::string().swap(response_.body);
    request_.reset();
    finish(false);
    return;
  }
  response_.body.append(data, len);
}

void BackgroundFetch::finish(bool answered) {
  std::optional<filters::BackgroundResponse> result;
  if (answered) result = std::move(response_);
  check_.stop();
  if (deadline_) deadline_.stop();
  // `done` runs after this fetch is gone but while the snapshot (the route's filter factories)
  // is still held. The UpstreamRequest (if it called this) returns at once after.
  SnapshotPtr keep = std::move(snapshot_);
  filters::BackgroundDone done = std::move(done_);
  delete this;
  done(std::move(result));
}

}  // namespace sluice::proxy
