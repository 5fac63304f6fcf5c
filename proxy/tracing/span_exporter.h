// The process's span exporter: workers hand finished spans over in batches (one lock per
// batch, never a network wait), and one exporter thread posts them as OTLP/HTTP (protobuf, or
// JSON) to `tracing.otlp.endpoint`. The queue is bounded by `max_queue` spans: what does not fit is
// dropped and counted, and so is a batch the collector does not take (down, slow past
// `timeout`, or answering an error), so a dead collector costs no request and no memory.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "filters/base/metrics_registry.h"
#include "proxy/tracing/span_record.h"

namespace sluice::proxy::tracing {

class SpanExporter {
 public:
  explicit SpanExporter(base::MetricsRegistry& registry);
  ~SpanExporter();  // stops the thread after one last bounded attempt to send what is queued
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  // Applies the `tracing` section of a config taking effect (main thread); null or no `otlp`
  // stops queueing. The thread starts with the first endpoint.
  void configure(const config::Tracing* tracing);

  // Whether spans are wanted now (workers skip building them otherwise).
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }

  // Moves `batch` into the queue and leaves it empty (with a recycled buffer). Any thread.
  void submit(SpanBatch& batch);

  // Spans handed over so far, for tests: exported + dropped + queued.
  uint64_t exported() const { return exported_.value(); }

 private:
  void run();
  // One POST of `body`, the parts in order (keep-alive connection, reconnecting when needed);
  // true on a 2xx.
  bool post(const std::vector<std::string_view>& body, const std::string& endpoint, bool json,
            std::chrono::milliseconds timeout);
  void closeSocket();

  base::Counter& exported_;
  base::Counter& dropped_queue_full_;
  base::Counter& dropped_export_failed_;
  std::atomic<bool> enabled_{false};

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  // Whole batches as the workers handed them over (moved, never copied span by span).
  std::deque<SpanBatch> queue_;
  size_t queued_ = 0;  // spans in queue_
  // Buffers of sent batches, given back to the workers so a batch grows once, not per loop.
  std::vector<std::string> spare_;
  size_t max_queue_ = 10'000;
  std::string endpoint_;
  std::string service_name_ = "sluice";
  bool json_ = false;  // `otlp.encoding: json`
  std::chrono::milliseconds timeout_{2'000};
  bool stopping_ = false;
  std::thread thread_;

  // The exporter thread's connection (only that thread touches these).
  int fd_ = -1;
  std::string connected_to_;  // host:port of fd_
};

}  // namespace sluice::proxy::tracing
