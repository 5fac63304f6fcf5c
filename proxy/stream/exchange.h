// One request/response exchange on a client connection: routing, the route's filter chain, the
// upstream request (with one retry on a stale pooled connection), streaming both bodies with
// backpressure, local replies, tunnels after a 101, and the access-log line and metrics at the end.
// Owned by its ClientConnection; runs on that connection's worker thread.
#pragma once

#include <chrono>
#include <string>

#include "filters/chain.h"
#include "balancer/circuit_breaker.h"
#include "balancer/target_state.h"
#include "filters/filter.h"
#include "proxy/http1/client_connection.h"
#include "proxy/upstream/upstream_connection.h"

namespace sluice::proxy {

// Request body bytes gathered before the upstream is contacted (see forward()).
inline constexpr size_t kBodyBufferLimit = 64 * 1024;
// Response body pieces up to this size are copied behind the gathered head (one write).
inline constexpr size_t kCoalesceLimit = 16 * 1024;

class Exchange final : public filters::FilterCallbacks, public UpstreamHandler {
 public:
  Exchange(ClientConnection& conn, SnapshotPtr snapshot, base::RequestHead head,
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

  // UpstreamHandler
  void onUpstreamConnected() override;
  void onUpstreamHead(base::ResponseHead& head, bool interim) override;
  void onUpstreamBody(const char* data, size_t len) override;
  void onUpstreamComplete() override;
  void onUpstreamError(UpstreamError error, bool response_started) override;
  void onUpstreamDrained() override;
  void onUpstreamReadDone() override { flushClient(); }
  void onUpstreamTunnelData(const char* data, size_t len) override;

 private:
  void writeProxiedHead(const base::ResponseHead& head, bool no_body, bool has_length,
                        uint64_t length, std::string_view length_text);
  const char* chooseFraming(bool no_body, bool has_length);
  void prepareUpstreamHead();
  ProxiedRequestFields proxiedRequestFields() const;
  ProxiedFields proxiedResponseFields(const base::ResponseHead& head);
  bool answersMaxForwards() const;  // OPTIONS and TRACE (RFC 9110 §7.6.2)
  bool applyMaxForwards();
  void forward();
  void dispatch();
  bool startTry();
  void judgeTry(bool failure, bool connect_failure);
  void endTry();
  bool reserveRetry(std::string_view condition);
  void startRetry();
  bool judgeResponse(int status);
  void connectUpstream(bool allow_pooled);
  void sendRequestHead();
  void writeRequestBody(const char* data, size_t len);
  void writeResponseBody(const char* data, size_t len);
  void writeClient(std::string_view bytes);
  // Response bytes are gathered in out_ while one upstream read is parsed and written with one
  // syscall (head + body of a small response); flushClient() sends what is gathered.
  void flushClient();
  // Writes a whole local reply; `json` picks the content type of `body`.
  void sendReply(int status, std::string_view body, bool json, const base::HeaderMap* extra);
  void finish();
  void logAndCount();
  void failUpstream(UpstreamError error);

  ClientConnection& conn_;
  WorkerContext& ctx_;
  SnapshotPtr snapshot_;
  base::RequestHead head_;
  RequestMeta meta_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::system_clock::time_point wall_start_;
  std::string request_id_;
  std::string original_target_;
  base::HeaderMap received_fields_;  // TRACE only: the fields as the client sent them
  std::string original_host_;
  filters::StreamInfo info_;
  filters::FilterChain chain_;
  const RouteRuntime* route_ = nullptr;
  int route_index_ = -1;
  const UpstreamRuntime* upstream_ = nullptr;
  const ResolvedTarget* target_ = nullptr;
  UpstreamConnection* up_ = nullptr;
  uv_timer_t* delay_timer_ = nullptr;
  uv_timer_t* deadline_timer_ = nullptr;  // retries.deadline across tries

  // The current try (exchange_upstream.cc).
  uint64_t hash_ = 0;            // consistent_hash key
  uint64_t excluded_ = 0;        // targets that failed this request
  int target_index_ = -1;
  balancer::TargetState* target_state_ = nullptr;  // kept alive by snapshot_
  balancer::CircuitTicket ticket_;
  bool try_active_ = false;
  bool judged_ = false;
  bool gate_held_ = false;       // a max_requests slot
  bool can_resend_body_ = false;
  uint32_t tries_ = 0;
  std::string retry_body_;
  std::shared_ptr<bool> alive_;
  std::string_view log_cache_;      // access-log fields set by filters
  std::string_view log_ratelimit_;  // false once destroyed; read by wakers on this thread

  std::string upstream_head_;   // serialised request head, kept for a retry
  std::string pending_body_;    // body bytes that arrived before the upstream connection
  std::string out_;             // response bytes gathered for the client
  bool request_done_ = false;   // the client's request has been read completely
  bool upstream_sent_done_ = false;
  bool stale_retried_ = false;   // the one resend after a stale pooled connection
  bool awaiting_body_ = false;   // routed and filtered; the upstream waits for more body
  bool head_sent_ = false;       // the request head went to the current upstream connection
  bool up_reused_ = false;       // ... which came from the pool
  bool response_started_ = false;  // bytes went to the client
  bool response_flushed_ = false;  // some of the final response left out_ (it can't be taken back)
  bool response_done_ = false;
  bool finished_ = false;
  bool tunnel_ = false;
  bool keep_alive_ = true;
  bool head_only_ = false;
  bool direct_head_ = false;  // upstream heads written by appendProxiedRequestHead
  BodyFraming response_framing_ = BodyFraming::None;
  int status_ = 0;
  uint64_t bytes_sent_ = 0;
  std::chrono::steady_clock::time_point upstream_start_;
  double upstream_ms_ = -1;
  const char* upstream_failure_ = nullptr;
  const char* termination_ = nullptr;  // why the response ended early (access log); null: whole
};

}  // namespace sluice::proxy
