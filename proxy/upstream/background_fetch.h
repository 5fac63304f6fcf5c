// A request of sluice's own to a route's upstream, detached from any client request (the cache's
// stale-while-revalidate refresh): a thin client of UpstreamRequest -- the same target choice,
// tries, retries and reports to the shared target state as a client's request -- that gathers
// the whole response and hands it to its `done`. Owns itself until `done` has run; keeps the
// config snapshot alive meanwhile. Worker thread.
#pragma once

#include <uv.h>

#include <functional>
#include <optional>
#include <string>

#include "filters/filter.h"
#include "proxy/net/uv_handle.h"
#include "proxy/runtime/worker_context.h"
#include "proxy/upstream/upstream_request.h"

namespace sluice::proxy {

// What a fetch sends besides its head, and how it takes the answer (a mirror's copy of a
// client's request: its body, one try, the response body hashed as it streams).
struct BackgroundOptions {
  std::string body;   // sent with a Content-Length when not empty
  bool retry = true;  // false: one try, never retried on another target
  // When set, takes the response body as it arrives instead of gathering it (`max_body` then
  // bounds nothing and `done` gets an empty body).
  std::function<void(const char* data, size_t len)> body_sink;
  std::chrono::milliseconds timeout{0};  // as start()'s `timeout`
};

class BackgroundFetch final : private UpstreamRequestCallbacks {
 public:
  // Starts the fetch for snapshot upstream `upstream_index` (-1: none; `done` gets nullopt).
  // `done` always runs later, from the loop, never inside start(). `timeout` (0: none) bounds
  // the whole fetch from its start, tries and retries included; at its end `done` gets nullopt.
  static void start(WorkerContext& ctx, SnapshotPtr snapshot, int upstream_index,
                    base::RequestHead head, size_t max_body, filters::BackgroundDone done,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // As above, with a body, retries and the response body's sink as `options` say.
  static void start(WorkerContext& ctx, SnapshotPtr snapshot, int upstream_index,
                    base::RequestHead head, size_t max_body, filters::BackgroundDone done,
                    BackgroundOptions options);

 private:
  BackgroundFetch(WorkerContext& ctx, SnapshotPtr snapshot, int upstream_index,
                  base::RequestHead head, size_t max_body, filters::BackgroundDone done);
  ~BackgroundFetch() override = default;

  // UpstreamRequestCallbacks
  void writeRequestHead(const ResolvedTarget& target, std::string& out) override;
  const base::RequestHead& requestHead(const ResolvedTarget& target, base::RequestHead&) override {
    if (head_.host.empty()) head_.host = target.name;
    return head_;
  }
  void onResponseHead(base::ResponseHead& head, bool interim) override;
  void onResponseBody(const char* data, size_t len) override;
  void onResponseComplete() override { finish(true); }
  void onFailure(const UpstreamFailure&) override { finish(false); }

  // Frees this fetch and runs `done` (with the response when `answered`).
  void finish(bool answered);
  void onCheck();

  WorkerContext& ctx_;
  SnapshotPtr snapshot_;
  int upstream_index_;
  base::RequestHead head_;
  size_t max_body_;
  filters::BackgroundDone done_;
  PoolConnector connector_;
  std::optional<UpstreamRequest> request_;
  Timer check_;     // starts the fetch; gives up when the process starts draining
  Timer deadline_;  // the caller's own bound (an ext_auth timeout), when it set one
  BackgroundOptions options_;
  uint64_t body_length_ = 0;  // of options_.body, which the request took
  bool started_ = false;
  filters::BackgroundResponse response_;
};

}  // namespace sluice::proxy
