// What a filter may use of the worker thread its request runs on, in place of the worker's
// libuv loop: filters never see libuv (issue 13). The proxy implements it once per worker
// (proxy/runtime/worker_services.h); a filter reaches it through FilterCallbacks::services().
// Delays and wake-ups of a request are FilterCallbacks::continueRequestAfter() and waker(); the
// timers, clock and name lookups here are for what a filter runs apart from any one request
// (the cluster rate-limit store's Redis client: reconnects, timeouts, Sentinels).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "filters/base/event_recorder.h"

namespace sluice::filters {

// A timer on a worker's loop, made by WorkerServices::makeTimer. Its callback runs on that
// worker's thread, never after stop() or after the timer is destroyed; the callback may stop,
// restart or destroy its own timer. The timer never keeps the worker's loop alive (a worker
// shutting down does not wait for it). Destroying it frees it safely at any time on its thread.
class ServiceTimer {
 public:
  virtual ~ServiceTimer() = default;

  // (Re)arms: the callback runs after `timeout_ms`, then every `repeat_ms` (0: once). False when
  // the loop refused (the failure is logged).
  virtual bool start(uint64_t timeout_ms, uint64_t repeat_ms = 0) = 0;
  // Idempotent.
  virtual void stop() = 0;
  // Started and not yet fired (a one-shot timer) or not stopped (a repeating one).
  virtual bool active() const = 0;
};

class WorkerServices {
 public:
  virtual ~WorkerServices() = default;

  // A timer calling `on_fire` (see ServiceTimer), not started. Never null: a timer the loop
  // refused to create is logged at once and its start() returns false. `name` (a literal) names
  // it in log lines. Worker thread only.
  virtual std::unique_ptr<ServiceTimer> makeTimer(const char* name,
                                                  std::function<void()> on_fire) const = 0;

  // The worker loop's clock in milliseconds (monotonic; the time timers count from), as of the
  // start of the current loop iteration. Worker thread only.
  virtual int64_t nowMs() const = 0;

  // Looks `host` up (a name or an address literal) without blocking the worker and calls `done`
  // on the worker's thread with its first address, numeric ("192.0.2.1", "2001:db8::1"); `ok`
  // false when nothing was found. Called exactly once, from inside lookupHost() only when the
  // lookup cannot even start. Worker thread only.
  using HostFound = std::function<void(bool ok, const std::string& ip)>;
  virtual void lookupHost(const std::string& host, HostFound done) const = 0;

  // The worker's event loop, opaque (a uv_loop_t*), for the one libuv adapter in filters/: the
  // hiredis adapter of the cluster rate-limit store (filters/redis_uv.cc), which hiredis calls to
  // watch its sockets; nothing else casts it. Never null on a worker; null in unit tests that
  // have no loop.
  virtual void* eventLoop() const = 0;

  // The status page's event list, for state changes a filter sees (the rate-limit store lost or
  // regained); null when there is none (unit tests). Any thread may record into it.
  virtual base::EventRecorder* events() const { return nullptr; }
};

}  // namespace sluice::filters
