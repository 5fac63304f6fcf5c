// The worker side of filters::WorkerServices: what filters may use of one worker thread, backed
// by its libuv loop (timers are proxy/net/uv_handle.h's Timer, lookups uv_getaddrinfo). One per
// WorkerContext; touched only on the worker's own thread.
#pragma once

#include <uv.h>

#include "filters/worker_services.h"

namespace sluice::proxy {

class LoopServices final : public filters::WorkerServices {
 public:
  explicit LoopServices(uv_loop_t* loop, base::EventRecorder* events = nullptr)
      : loop_(loop), events_(events) {}

  std::unique_ptr<filters::ServiceTimer> makeTimer(const char* name,
                                                   std::function<void()> on_fire) const override;
  int64_t nowMs() const override { return static_cast<int64_t>(uv_now(loop_)); }
  void lookupHost(const std::string& host, HostFound done) const override;
  void* eventLoop() const override { return loop_; }
  base::EventRecorder* events() const override { return events_; }

 private:
  uv_loop_t* loop_;
  base::EventRecorder* events_;
};

}  // namespace sluice::proxy
