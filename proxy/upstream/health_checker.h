// Active health checks (spec/config.md `health_check`): one prober per target per process, on
// the main thread's loop, whatever the number of workers. Each probe is a GET of `path` in
// the upstream's protocol (HTTP/1.1, or HTTP/2 for h2/h2c; over TLS when the upstream uses TLS)
// every `interval` with ±10% jitter; its verdict goes to the target's shared state, which every
// worker sees at once.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <string>

#include "filters/base/event_recorder.h"
#include "proxy/runtime/snapshot.h"

namespace sluice::proxy {

class HealthChecker {
 public:
  // Verdicts that flip a target's health go to `events` too (the status page's list), if set.
  explicit HealthChecker(uv_loop_t* loop, base::EventRecorder* events = nullptr);
  ~HealthChecker();
  // Probes the targets of `snapshot`'s upstreams that have `health_check`; probers of targets
  // that stay keep their rhythm, others start or stop. Main thread.
  void apply(const SnapshotPtr& snapshot);
  void stop();

  struct Prober;

 private:
  uv_loop_t* loop_;
  base::EventRecorder* events_;
  std::map<std::string, Prober*> probers_;  // key: upstream \n address \n settings
};

}  // namespace sluice::proxy
