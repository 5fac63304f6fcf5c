// One request to an upstream, over as many tries as it takes: target pick (UpstreamAttempt),
// a pooled or new stream, per-try and overall deadlines, retries on another target within
// `retries` (conditions, idempotency, the budget), and the one resend after a pooled connection
// that turned out closed. The client's exchange and every request sluice makes of its own
// (cache refreshes now; mirrors, auth checks and key fetches next) go through it, so they share
// one set of rules and one place that reports to the shared target state (Envoy's router
// UpstreamRequest + RetryState; nginx's r->upstream with peer.get/peer.free per try).
// Worker thread. The owner deletes it; deleting it abandons the try in flight.
#pragma once

#include <uv.h>

#include <chrono>
#include <memory>
#include <string>

#include "proxy/http1/http_serialize.h"
#include "proxy/net/uv_handle.h"
#include "proxy/runtime/snapshot.h"
#include "proxy/upstream/upstream_attempt.h"
#include "proxy/upstream/upstream_stream.h"

namespace sluice::proxy {

class WorkerContext;

// Why an UpstreamRequest gave up, for its owner's answer.
struct UpstreamFailure {
  int status = 502;               // 502, 503 or 504
  const char* message = nullptr;  // sluice's error text for a 503; null: the status's own
  UpstreamError error = UpstreamError::Reset;
  // The final head had been handed over: the response broke in the middle (cut the client).
  bool response_begun = false;
};

// The owner's side. Calls come from the worker loop; the owner may delete the UpstreamRequest
// from inside any of them (and must not touch it after onUpstreamFailure / ...Complete).
// The request head of each try comes from RequestHeadSource (asked by the stream, in the form
// its protocol wants).
class UpstreamRequestCallbacks : public RequestHeadSource {
 public:
  // 1xx (`interim`), then the final head of the try that answers (after it: no more retries).
  virtual void onResponseHead(base::ResponseHead& head, bool interim) = 0;
  virtual void onResponseBody(const char* data, size_t len) = 0;
  // The response's trailer fields, when it has some (before onResponseComplete).
  virtual void onResponseTrailers(const base::HeaderMap& trailers) {}
  virtual void onResponseComplete() = 0;
  virtual void onResponseReadDone() {}
  virtual void onTunnelData(const char* data, size_t len) {}
  // Queued request bytes left: reading the client may resume.
  virtual void onRequestDrained() {}
  // A try begins towards `target` (before connecting), and one is given up to be retried with
  // the `status` it answered (0: it failed, `reason` says how): the spans of each try.
  virtual void onTryStart(const ResolvedTarget& target, std::chrono::steady_clock::time_point at) {}
  virtual void onTryRetried(int status, std::string_view reason) {}
  virtual void onFailure(const UpstreamFailure& failure) = 0;
};

class UpstreamRequest final : private UpstreamHandler {
 public:
  struct Params {
    // The upstream's runtime and target states; the owner keeps the snapshot alive for as long
    // as this request lives (a plain pointer: no reference count touched per request).
    const Snapshot* snapshot = nullptr;
    size_t upstream_index = 0;
    uint64_t hash = 0;  // consistent_hash key
    bool idempotent = true;
    bool head_only = false;                   // HEAD: the response has no body
    BodyFraming framing = BodyFraming::None;  // of the request body sent upstream
    uint64_t length = 0;                      // with BodyFraming::Length
    // Bounds each try from its start (gRPC's grpc-timeout); 0: only the upstream's timeouts.
    // Its expiry fails the request as a response timeout (504), without a retry: the caller's
    // deadline has passed.
    std::chrono::milliseconds try_timeout{0};
    // False: a failed try is never tried again on another target (a mirror's copy must not
    // add load). The resend after a stale pooled connection or a refused stream, which the
    // target never processed, still happens.
    bool retry = true;
  };

  UpstreamRequest(WorkerContext& ctx, UpstreamConnector& connector, Params params,
                  UpstreamRequestCallbacks& callbacks);
  ~UpstreamRequest() override;
  UpstreamRequest(const UpstreamRequest&) = delete;
  UpstreamRequest& operator=(const UpstreamRequest&) = delete;

  // Starts the first try with the body bytes gathered so far; `body_complete`: they are the
  // whole body, so a retry can send them again.
  void start(std::string body, bool body_complete);
  // More request body (streamed), and its end. False when the request failed meanwhile: the
  // owner heard onFailure and this (and maybe the owner) may be gone -- touch nothing.
  bool sendBody(const char* data, size_t len);
  bool endBody();
  // The request's trailer fields (a chunked request body), sent in its last chunk: before
  // endBody, or before start() when the body is whole then.
  void setTrailers(const base::HeaderMap& trailers) { trailers_ = trailers; }
  // Gives up on the try in flight as failed (`error`): e.g. an answer the owner cannot use.
  void fail(UpstreamError error);

  // Backpressure and tunnels, on the current stream (no-ops without one).
  size_t queuedBytes() const;
  void pauseReading();
  void resumeReading();
  void startTunnel();
  bool writeTunnel(const char* data, size_t len);
  void shutdownWrite();

  bool hasStream() const { return stream_ != nullptr; }
  // The try in flight or that answered (null before the first pick).
  const ResolvedTarget* target() const { return target_; }
  // When the answering try's final head arrived, and seconds from that try's start to it.
  std::chrono::steady_clock::time_point headAt() const { return head_at_; }
  double headSeconds() const {
    return std::chrono::duration<double>(head_at_ - try_start_).count();
  }
  uint32_t tries() const { return tries_; }

 private:
  // UpstreamHandler
  void onUpstreamConnected() override { sendHead(); }
  void onTryTimeout();
  void onUpstreamHead(base::ResponseHead& head, bool interim) override;
  void onUpstreamBody(const char* data, size_t len) override;
  void onUpstreamTrailers(const base::HeaderMap& trailers) override {
    callbacks_.onResponseTrailers(trailers);
  }
  void onUpstreamComplete() override;
  void onUpstreamError(UpstreamError error, bool response_started) override;
  void onUpstreamDrained() override { callbacks_.onRequestDrained(); }
  void onUpstreamReadDone() override { callbacks_.onResponseReadDone(); }
  void onUpstreamTunnelData(const char* data, size_t len) override;

  bool startTry();
  void connect(bool allow_pooled);
  void sendHead();
  void writeBody(const char* data, size_t len);
  bool mayRetry(std::string_view condition);
  // Counts the retry and starts the next try, after `wait_ms` on backoff_ when above 0.
  void retry(int64_t wait_ms);
  void nextTry();
  void giveUp(const UpstreamFailure& failure);
  void dropStream();
  // Counts a try's answer (`status` 0: none) in the metrics and the target's rolling windows;
  // `retried`: an answer dropped for another try.
  void countTry(int status, double seconds, bool connect_failed, bool retried = false);
  int64_t now() const;
  std::shared_ptr<bool> aliveToken();

  WorkerContext& ctx_;
  UpstreamConnector& connector_;
  Params params_;
  const UpstreamRuntime& upstream_;
  UpstreamRequestCallbacks& callbacks_;
  UpstreamAttempt attempt_;
  const ResolvedTarget* target_ = nullptr;
  UpstreamStream* stream_ = nullptr;
  Timer deadline_;               // retries.deadline across tries
  Timer try_timer_;              // Params::try_timeout, per try
  Timer backoff_;                // retries.backoff: the wait before the next try
  std::shared_ptr<bool> alive_;  // false once destroyed (callbacks may delete this)

  std::string pending_body_;  // body bytes that arrived before the head could go out
  std::string retry_body_;    // the whole body, kept for a retry
  base::HeaderMap trailers_;  // the request's trailer fields, kept for a retry
  bool body_resendable_ = false;
  bool body_done_ = false;
  bool head_sent_ = false;
  bool body_sent_done_ = false;
  bool stale_resent_ = false;
  bool head_delivered_ = false;  // the final head went to the owner: no more retries
  bool stream_reused_ = false;   // the current stream came from the pool
  bool given_up_ = false;        // onFailure was called
  uint64_t excluded_ = 0;
  uint32_t tries_ = 0;
  uint32_t refused_resends_ = 0;  // UpstreamError::Refused sends again (no try counted)
  int64_t start_ms_ = 0;          // loop time of start(): retries.deadline counts from it
  int status_ = 0;
  std::chrono::steady_clock::time_point try_start_;
  std::chrono::steady_clock::time_point head_at_;
};

// The worker's pool as an UpstreamConnector (acquireUpstream).
class PoolConnector final : public UpstreamConnector {
 public:
  explicit PoolConnector(WorkerContext& ctx) : ctx_(ctx) {}
  UpstreamStream* acquire(const UpstreamRuntime& upstream, const ResolvedTarget& target,
                          UpstreamHandler* handler, bool allow_pooled, bool& ready) override;

 private:
  WorkerContext& ctx_;
};

}  // namespace sluice::proxy
