// The worker side of filters::WorkerServices: what filters may use of one worker thread, backed
// by its libuv loop. One per WorkerContext; touched only on the worker's own thread.
#pragma once

#include <uv.h>

#include "filters/worker_services.h"

namespace sluice::proxy {

class LoopServices final : public filters::WorkerServices {
 public:
  explicit LoopServices(uv_loop_t* loop) : loop_(loop) {}
  void* eventLoop() const override { return loop_; }

 private:
  uv_loop_t* loop_;
};

}  // namespace sluice::proxy
