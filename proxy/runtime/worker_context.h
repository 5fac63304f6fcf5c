// What every connection of one worker thread shares: its loop, the config snapshot it serves,
// its upstream pool and balancers, its access-log writer and cached metric series. Touched only
// on the worker's own thread.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "balancer/balancer.h"
#include "balancer/effective_weights.h"
#include "proxy/admin/metrics.h"
#include "proxy/net/connection_list.h"
#include "proxy/runtime/snapshot.h"
#include "proxy/runtime/worker_services.h"
#include "proxy/stream/access_log.h"
#include "proxy/tracing/span_record.h"
#include "proxy/upstream/upstream_pool.h"

namespace sluice::proxy {

namespace tracing {
class SpanExporter;
}

class ClientConnection;

// Metric series of one route, resolved once per snapshot so a request costs atomic adds only.
struct RouteSeries {
  std::string name;
  base::HistogramFamily* duration_family = nullptr;
  base::Histogram* duration = nullptr;
  // (method index << 10 | status) -> counter
  std::unordered_map<uint32_t, base::Counter*> requests;
};

// Process-wide counters shared by the workers (connection limit, drain bookkeeping).
struct SharedState {
  std::atomic<int64_t> connections{0};
  std::atomic<bool> draining{false};
  tracing::SpanExporter* span_exporter = nullptr;  // the process's (set before workers start)
  base::EventRecorder* events = nullptr;  // the status page's event list (set before workers start)
};

// Seconds from `t` to now, for durations in metrics and logs.
inline double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

class WorkerContext {
 public:
  WorkerContext(uv_loop_t* loop, int index, Metrics& metrics, SharedState& shared);

  uv_loop_t* loop;
  LoopServices services;  // what filters may use of this worker (FilterCallbacks::services())
  int index;
  Metrics& metrics;
  SharedState& shared;
  SnapshotPtr snapshot;
  // One selector per snapshot upstream, rebuilt whole when availability or weights change.
  struct Selector {
    balancer::EffectiveWeights built;
    std::unique_ptr<balancer::Balancer> balancer;
  };
  std::vector<Selector> selectors;
  UpstreamPool pool;
  AccessLogWriter access_log;
  // Spans finished on this worker since the loop last handed them to the exporter.
  tracing::SpanBatch span_batch;
  ConnectionList connections;
  // Whom to close first when limits.max_connections is reached: idle keep-alive connections,
  // then connections that have not sent a whole request head yet, oldest first.
  ConnectionQueue idle_clients;
  ConnectionQueue unheard_clients;
  // Client connections holding a request's parse state (busy, or idle for less than two sweeps):
  // the worker's memory release hears from it that a burst of requests went idle.
  int64_t parse_states = 0;

  // Runs `fn` on this worker's thread soon (any thread). Set by the Worker.
  std::function<void(std::function<void()>)> post;

  // Adopts a new snapshot: rebuilds balancers and route series. Worker thread.
  void adopt(SnapshotPtr next);

  // Picks a target of snapshot upstream `index` (-1: none available). `upstream` must belong
  // to this worker's current snapshot when `index` is valid; otherwise a plain rotation is used.
  int pickTarget(const Snapshot& snapshot, size_t index, uint64_t hash, uint64_t exclude_mask);

  RouteSeries& routeSeries(int route_index);  // -1: requests that matched no route
  // `exemplar_trace`: the trace id of a sampled request, kept as the duration bucket's exemplar.
  void countRequest(int route_index, std::string_view method, int status, double seconds,
                    std::string_view exemplar_trace = {});
  // One upstream answer (`status` 0: none, counted as a connect failure when `connect_failed`).
  void countUpstream(const std::string& upstream, const std::string& target, int status,
                     double seconds, bool connect_failed);

  // A fresh request id: 15 characters of [0-9a-z] (75 random bits).
  std::string newRequestId();
  // 64 random bits from the same generator (trace and span ids, sampling); `self` is the
  // WorkerContext (the shape of base::RandomBits).
  static uint64_t randomBits(void* self);
  // The current IMF-fixdate for Date fields, refreshed at most once per second.
  const std::string& httpDate();

 private:
  std::vector<RouteSeries> route_series_;  // index + 1 (0 = no route)
  struct TargetSeries {
    std::unordered_map<int, base::Counter*> by_code;
    base::Counter* connect_failures = nullptr;
    base::Histogram* duration = nullptr;
  };
  std::unordered_map<std::string, TargetSeries> target_series_;  // "upstream\ntarget"
  std::string key_;
  uint64_t rng_[2];
  std::string date_;
  int64_t date_second_ = -1;
};

}  // namespace sluice::proxy
