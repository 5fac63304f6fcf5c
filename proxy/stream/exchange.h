// One request/response exchange on a client stream: routing, the route's filter chain, then
// (the router, last in the chain) one UpstreamRequest that owns every try; streaming both bodies
// with backpressure, local replies, tunnels after a 101, and the access-log line and metrics at
// the end. It sees the client only through Downstream (protocol-neutral: it emits response
// events, the codec frames them). Owned by its client stream; runs on that stream's worker.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "filters/base/trace_context.h"
#include "filters/chain.h"
#include "filters/filter.h"
#include "proxy/net/uv_handle.h"
#include "proxy/runtime/worker_context.h"
#include "proxy/stream/downstream.h"
#include "proxy/stream/mirror.h"
#include "proxy/tracing/request_spans.h"
#include "proxy/upstream/upstream_request.h"

namespace sluice::proxy {

// Request body bytes gathered before the upstream is contacted (see forward()).
inline constexpr size_t kBodyBufferLimit = 64 * 1024;

class Exchange final : public filters::FilterCallbacks, private UpstreamRequestCallbacks {
 public:
  Exchange(Downstream& down, WorkerContext& ctx, SnapshotPtr snapshot, base::RequestHead head,
           const RequestMeta& meta, std::chrono::steady_clock::time_point start);
  ~Exchange() override;

  // Exchanges are recycled through a small per-thread free list: one is made and destroyed per
  // request, and malloc was a visible share of a request's CPU.
  static void* operator new(size_t size);
  static void operator delete(void* p, size_t size);

  // Routes the request and runs the request-header phase; may answer at once.
  void start();
  // Request body bytes as parsed (de-chunked), and the end of the request.
  void onRequestBody(const char* data, size_t len);
  // Trailer fields of the request (a chunked body), just before onRequestEnd.
  void onRequestTrailers(const base::HeaderMap& trailers);
  void onRequestEnd();
  // The request turned out malformed after the head (bad chunk, body too large).
  void onRequestError(int status);
  // The client's write queue drained below the low watermark.
  void onClientDrained();
  // The client took no response bytes for limits.send_timeout: the connection is cut next.
  void onClientSendTimeout() { termination_ = "client_send_timeout"; }
  // Tunnel bytes from the client after a 101 (len 0: the client closed its side).
  void onClientTunnelData(const char* data, size_t len);

  // filters::FilterCallbacks
  void sendLocalReply(int status, std::string_view body, const base::HeaderMap* extra) override;
  void sendError(int status, std::string_view message, const base::HeaderMap* extra) override;
  void continueRequest() override;
  void continueRequestAfter(std::chrono::milliseconds delay) override;
  const filters::StreamInfo& info() const override { return info_; }
  filters::WorkerServices& services() const override { return ctx_.services; }
  std::shared_ptr<filters::Waker> waker() override;
  const base::RequestHead& request() const override { return head_; }
  void setLogField(filters::LogField field, std::string_view value) override {
    (field == filters::LogField::Cache ? log_cache_ : log_ratelimit_) = value;
  }
  void fetchInBackground(base::RequestHead head, size_t max_body,
                         filters::BackgroundDone done) override;
  void fetchFromUpstream(std::string_view upstream, base::RequestHead head, size_t max_body,
                         std::chrono::milliseconds timeout, filters::BackgroundDone done) override;
  void setConsumer(std::string_view name) override {
    consumer_ = name;
    info_.consumer = consumer_;
  }
  void setJwtClaims(std::shared_ptr<const filters::JwtClaims> claims) override {
    jwt_claims_ = std::move(claims);
    info_.jwt_claims = jwt_claims_.get();
  }
  void redactQueryParameter(std::string_view name) override { redact_query_ = name; }

 private:
  // UpstreamRequestCallbacks (exchange_upstream.cc)
  void writeRequestHead(const ResolvedTarget& target, std::string& out) override;
  const base::RequestHead& requestHead(const ResolvedTarget& target,
                                       base::RequestHead& scratch) override;
  void onResponseHead(base::ResponseHead& head, bool interim) override;
  void onResponseBody(const char* data, size_t len) override;
  void onResponseTrailers(const base::HeaderMap& trailers) override;
  void onResponseComplete() override;
  void onResponseReadDone() override { down_.flush(); }
  void onTunnelData(const char* data, size_t len) override;
  void onRequestDrained() override;
  void onTryStart(const ResolvedTarget& target, std::chrono::steady_clock::time_point at) override;
  void onTryRetried(int status, std::string_view reason) override;
  void onFailure(const UpstreamFailure& failure) override;

  void prepareUpstreamHead();
  ProxiedRequestFields proxiedRequestFields() const;
  ProxiedFields proxiedResponseFields(const base::ResponseHead& head);
  bool answersMaxForwards() const;  // OPTIONS and TRACE (RFC 9110 §7.6.2)
  bool applyMaxForwards();
  void forward();
  void dispatch();
  void recordServerSpan(const AccessRecord& r, std::chrono::steady_clock::time_point end);
  // Writes a whole local reply; `json` picks the content type of `body`.
  void sendReply(int status, std::string_view body, bool json, const base::HeaderMap* extra);
  // An error answer to a gRPC call: trailers-only, grpc-status mapped from `status`.
  void sendGrpcError(int status, std::string_view message, const base::HeaderMap* extra);
  void finish();
  // Metrics and status windows, counted before the last bytes are handed to the client so a
  // client that reads /metrics or /status.json right after its answer sees it counted.
  void count();
  void sendBody(const char* data, size_t len);  // to the client, counting before the last bytes
  void logAndCount();
  std::shared_ptr<bool> aliveToken();  // false once this exchange is destroyed

  Downstream& down_;
  WorkerContext& ctx_;
  SnapshotPtr snapshot_;
  base::RequestHead head_;
  RequestMeta meta_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::system_clock::time_point wall_start_;
  std::string request_id_;
  base::TraceContext trace_;     // W3C trace context: this hop's span, a client span per try
  tracing::RequestSpans spans_;  // its spans, when sampled and exported
  std::string original_target_;
  base::HeaderMap received_fields_;  // TRACE only: the fields as the client sent them
  std::string original_host_;
  filters::StreamInfo info_;
  std::string consumer_;      // info_.consumer points here (an auth filter's identity)
  std::string redact_query_;  // a query parameter masked in the access log (an API key)
  std::shared_ptr<const filters::JwtClaims> jwt_claims_;  // info_.jwt_claims (a jwt filter's)
  filters::FilterChain chain_;
  const RouteRuntime* route_ = nullptr;
  int route_index_ = -1;
  const UpstreamRuntime* upstream_ = nullptr;
  // upstream_'s index in the snapshot: the route's upstream, or the side its split chose.
  int upstream_index_ = -1;
  Timer delay_timer_;  // continueRequestAfter (a leaky bucket's delay)
  uint64_t hash_ = 0;  // consistent_hash key
  BodyFraming upstream_framing_ = BodyFraming::None;  // of the body as sent upstream
  uint64_t upstream_length_ = 0;
  PoolConnector connector_{ctx_};
  // Every try to the upstream, once the request is dispatched (exchange_upstream.cc).
  std::optional<UpstreamRequest> upstream_request_;
  MirrorTap mirror_;  // the primary's answer for a compared mirror (mirror.h); usually empty
  std::shared_ptr<bool> alive_;
  std::string_view log_cache_;      // access-log fields set by filters
  std::string_view log_ratelimit_;  // false once destroyed; read by wakers on this thread

  std::string pending_body_;           // body bytes gathered before the request is dispatched
  base::HeaderMap request_trailers_;   // until the request is dispatched
  base::HeaderMap response_trailers_;  // sent after what the body filters still hold
  bool request_done_ = false;          // the client's request has been read completely
  bool awaiting_body_ = false;         // routed and filtered; the upstream waits for more body
  bool response_started_ = false;      // the final head went to the client stream
  bool response_done_ = false;
  bool finished_ = false;
  bool counted_ = false;
  // Body bytes the client is still owed under the response's Content-Length (none known: max):
  // the answer is counted before its last bytes are written, as a coalesced one is.
  uint64_t body_left_ = UINT64_MAX;
  bool tunnel_ = false;
  bool keep_alive_ = true;  // as far as the core goes (the codec has its own say)
  bool head_only_ = false;
  bool grpc_ = false;         // a gRPC call (content-type application/grpc*): errors as grpc-status
  bool direct_head_ = false;  // upstream heads written by appendProxiedRequestHead
  int status_ = 0;
  double upstream_ms_ = -1;
  const char* termination_ = nullptr;  // why the response ended early (access log); null: whole
};

}  // namespace sluice::proxy
