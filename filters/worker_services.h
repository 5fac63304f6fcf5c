// What a filter may use of the worker thread its request runs on, in place of the worker's
// libuv loop: filters never see libuv (issue 13). The proxy implements it once per worker
// (proxy/runtime/worker_services.h); a filter reaches it through FilterCallbacks::services().
// Delays and wake-ups are FilterCallbacks::continueRequestAfter() and waker().
#pragma once

namespace sluice::filters {

class WorkerServices {
 public:
  virtual ~WorkerServices() = default;

  // The worker's event loop, opaque (a uv_loop_t*). For the one filter internal that does libuv
  // I/O of its own, the Redis client of the cluster rate-limit store (filters/redis_store.cc,
  // with its Sentinel watch and hiredis adapter); nothing else casts it. Never null on a worker;
  // null in unit tests that have no loop. Worker thread only; never block the loop.
  virtual void* eventLoop() const = 0;
};

}  // namespace sluice::filters
