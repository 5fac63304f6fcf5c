// A request of sluice's own to a route's upstream, detached from any client request (the cache's
// stale-while-revalidate refresh): picks a target like an Exchange does, takes a pooled
// connection or connects, sends the head, gathers the whole response and hands it to its `done`.
// Owns itself until `done` has run; keeps the config snapshot alive meanwhile. Worker thread.
#pragma once

#include <uv.h>

#include <chrono>
#include <string>

#include "balancer/circuit_breaker.h"
#include "balancer/target_state.h"
#include "filters/filter.h"
#include "proxy/upstream/upstream_connection.h"
#include "proxy/runtime/worker_context.h"

namespace sluice::proxy {

class BackgroundFetch final : public UpstreamHandler {
 public:
  // Starts the fetch for snapshot upstream `upstream_index` (-1: none; `done` gets nullopt).
  // `done` always runs later, from the loop, never inside start().
  static void start(WorkerContext& ctx, SnapshotPtr snapshot, int upstream_index,
                    base::RequestHead head, size_t max_body, filters::BackgroundDone done);

  // UpstreamHandler
  void onUpstreamConnected() override { sendHead(); }
  void onUpstreamHead(base::ResponseHead& head, bool interim) override;
  void onUpstreamBody(const char* data, size_t len) override;
  void onUpstreamComplete() override;
  void onUpstreamError(UpstreamError error, bool response_started) override;
  void onUpstreamDrained() override {}
  void onUpstreamReadDone() override {}
  void onUpstreamTunnelData(const char*, size_t) override {}

 private:
  BackgroundFetch(WorkerContext& ctx, SnapshotPtr snapshot, base::RequestHead head,
                  size_t max_body, filters::BackgroundDone done);
  ~BackgroundFetch() override;
  bool pick(int upstream_index);
  void connect(bool allow_pooled);
  void sendHead();
  enum class Outcome { Answered, Failed, ConnectFailed, Dropped };
  // Reports the outcome to the target's state, frees this fetch and runs `done`.
  void finish(Outcome outcome);
  static void onCheck(uv_timer_t* t);

  WorkerContext& ctx_;
  SnapshotPtr snapshot_;
  base::RequestHead head_;
  size_t max_body_;
  filters::BackgroundDone done_;
  const UpstreamRuntime* upstream_ = nullptr;
  const ResolvedTarget* target_ = nullptr;
  balancer::TargetState* target_state_ = nullptr;  // kept alive by snapshot_
  balancer::CircuitTicket ticket_;
  bool gate_held_ = false;
  bool started_ = false;    // target_state_->onRequestStart() was called
  bool retried_ = false;    // the one resend after a stale pooled connection
  bool reused_ = false;
  UpstreamConnection* up_ = nullptr;
  uv_timer_t* check_ = nullptr;  // gives up when the process starts draining
  std::chrono::steady_clock::time_point t0_;
  filters::BackgroundResponse response_;
  bool overflow_ = false;
};

}  // namespace sluice::proxy
